import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.stack/', '.bench/', 'scratch/', 'bin/*.js', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // node:test's test()/describe() return promises the runner itself awaits
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' }],
      }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries.
    // Each family keeps its workflows (and helpers shared with its activities) in its own folder.
    files: ['src/workflows/**/*.ts', 'src/*/workflow.ts', 'src/*/*-workflow.ts', 'src/*/*-workflows.ts', 'src/*/naming.ts', 'src/*/workflow-shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*'], message: 'Workflows must not use Node built-ins.' },
          { group: ['fs', 'path', 'os', 'crypto', 'child_process', 'net', 'http', 'https', 'stream', 'events', 'util'], message: 'Workflows must not use Node built-ins.' },
          { group: ['ssh2', 'ssh2-sftp-client', '@google-cloud/*', 'pg', 'pino'], message: 'Workflows do no I/O: call an activity.' },
        ],
      }],
    },
  },
);

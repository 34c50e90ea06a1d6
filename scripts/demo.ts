/**
 * npm run demo -- [family]: runs scripts/demos/<family>.ts (`export` when none is named) on the
 * local stack. Families are the files in scripts/demos/ that export `async function run()`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireStack } from '../src/stack/stack-check';

const DEMOS_DIR = path.join(__dirname, 'demos');
const DEFAULT_FAMILY = 'export';
const RUN_EXPORT = /\bexport\s+(?:async\s+function\s+run\b|function\s+run\b|const\s+run\b)/;

/** The demo families, from the files in scripts/demos/ that export `run`. */
export function demoFamilies(dir = DEMOS_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('_'))
    .filter((f) => RUN_EXPORT.test(fs.readFileSync(path.join(dir, f), 'utf8')))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

function usage(families: string[]): string {
  return [
    'Usage: npm run demo -- [family]',
    '',
    `Runs one family's demo end to end on the local stack (default: ${DEFAULT_FAMILY}) and prints the Temporal Web UI link.`,
    `Families: ${families.join(', ')}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const families = demoFamilies();
  const check = argv[0] === '--check';
  const args = check ? argv.slice(1) : argv;
  if (args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
    if (!check) process.stdout.write(`${usage(families)}\n`);
    return 0;
  }
  const family = args[0] ?? DEFAULT_FAMILY;
  if (!families.includes(family)) {
    process.stderr.write(`demo: unknown family "${family}"; known: ${families.join(', ')}\n`);
    return 2;
  }
  if (check) return 0;
  // every family runs on the local stack: one line saying how to start it when it is down
  await requireStack();
  const mod = (await import(pathToFileURL(path.join(DEMOS_DIR, `${family}.ts`)).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`scripts/demos/${family}.ts does not export run()`);
  await mod.run();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`demo: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}

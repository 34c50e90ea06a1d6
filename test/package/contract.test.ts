/**
 * The client contract (`bq-sftp/client`) is an API: workflow type names, queries, search
 * attributes, ID conventions and the JSON shapes of every input, result and progress type are
 * pinned in contract.snapshot.json. A change to one fails here until the snapshot is re-made on
 * purpose: BQSFTP_UPDATE_CONTRACT=1 bash scripts/run-tests.sh test/package/contract.test.ts
 * (and the README "From your own service" and the version are updated with it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import * as contract from '../../src/client';

const root = path.resolve(__dirname, '..', '..');
const snapshotFile = path.join(__dirname, 'contract.snapshot.json');

type Shape = string | Shape[] | { [key: string]: Shape };

/** The JSON shape of a type: objects as { key / key?: shape }, arrays as [shape], the rest as TypeScript spells it. */
function shapeOf(checker: ts.TypeChecker, type: ts.Type, depth = 0, seen = new Set<ts.Type>()): Shape {
  if (depth > 8 || seen.has(type)) return checker.typeToString(type);
  if (type.isUnion()) {
    const parts = type.types.map((t) => shapeOf(checker, t, depth + 1, seen));
    if (parts.every((p) => typeof p === 'string')) return [...new Set(parts as string[])].sort().join(' | ');
    return { '|': parts };
  }
  if (checker.isArrayType(type)) return [shapeOf(checker, checker.getTypeArguments(type as ts.TypeReference)[0], depth + 1, seen)];
  const flags = type.getFlags();
  if (flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.Any | ts.TypeFlags.Unknown)) {
    return checker.typeToString(type);
  }
  if (type.getCallSignatures().length > 0) return checker.typeToString(type);
  const props = checker.getPropertiesOfType(type);
  const index = checker.getIndexInfosOfType(type);
  if (props.length === 0 && index.length === 0) return checker.typeToString(type);
  const next = new Set(seen).add(type);
  const out: Record<string, Shape> = {};
  for (const p of props) {
    const decl = p.valueDeclaration ?? p.declarations?.[0];
    const t = decl ? checker.getTypeOfSymbolAtLocation(p, decl) : checker.getDeclaredTypeOfSymbol(p);
    const optional = (p.getFlags() & ts.SymbolFlags.Optional) !== 0;
    out[p.getName() + (optional ? '?' : '')] = shapeOf(checker, optional ? checker.getNonNullableType(t) : t, depth + 1, next);
  }
  for (const i of index) out[`[key: ${checker.typeToString(i.keyType)}]`] = shapeOf(checker, i.type, depth + 1, next);
  return out;
}

function contractShapes(): Record<string, Shape> {
  const file = path.join(root, 'src/client.ts');
  const program = ts.createProgram([file], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true, types: ['node'] });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
  const shapes: Record<string, Shape> = {};
  for (const sym of checker.getExportsOfModule(moduleSymbol).sort((a, b) => (a.getName() < b.getName() ? -1 : 1))) {
    const target = sym.getFlags() & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    if (!(target.getFlags() & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) continue;
    shapes[sym.getName()] = shapeOf(checker, checker.getDeclaredTypeOfSymbol(target));
  }
  return shapes;
}

function currentContract() {
  return {
    default_task_queue: contract.DEFAULT_TASK_QUEUE,
    workflow_types: contract.WORKFLOW_TYPES,
    queries: contract.QUERIES,
    search_attributes: contract.SEARCH_ATTRIBUTES,
    workflow_ids: {
      export: contract.exportWorkflowId('<export>', '2025-01-08'),
      daily_exports: contract.dailyWorkflowId('2025-01-08'),
      ingest_job: contract.newIngestJobId(new Date('2025-01-08T06:00:00Z'), 'abc123'),
      etl: contract.etlWorkflowId('<pipeline>', '20250108_060000'),
      backup: contract.backupWorkflowId('<backup>', '2025-01-08'),
      backup_some_tables: contract.backupWorkflowId('<backup>', '2025-01-08', ['orders', 'customers']),
      backup_verify: contract.backupVerifyWorkflowId('<backup>', '2025-01-08'),
      backup_restore: contract.backupRestoreWorkflowId('<backup>', '2025-01-08', '<dataset>'),
      inbox_poll: contract.inboxPollWorkflowId('<inbox>'),
      inbox_batch: contract.inboxBatchWorkflowId('<inbox>', '<batch>'),
    },
    shapes: contractShapes(),
  };
}

void test('the client contract (names, IDs, JSON shapes) matches contract.snapshot.json', () => {
  const now = JSON.parse(JSON.stringify(currentContract())) as ReturnType<typeof currentContract>;
  if (process.env.BQSFTP_UPDATE_CONTRACT === '1' || !fs.existsSync(snapshotFile)) fs.writeFileSync(snapshotFile, `${JSON.stringify(now, null, 2)}\n`);
  const pinned = JSON.parse(fs.readFileSync(snapshotFile, 'utf8')) as typeof now;
  assert.deepEqual(now, pinned, 'the client contract changed: if on purpose, re-make the snapshot (BQSFTP_UPDATE_CONTRACT=1) and update the README');
  // the shapes are real structures, not opaque names
  assert.ok(typeof now.shapes.ExportResult === 'object' && 'transfer' in (now.shapes.ExportResult as object));
  for (const t of ['ExportInput', 'ExportResult', 'ExportProgress', 'IngestInput', 'IngestJob', 'EtlInput', 'EtlResult', 'EtlProgress', 'BackupInput', 'BackupResult', 'BackupProgress', 'InboxPollInput', 'InboxPollResult']) {
    assert.ok(now.shapes[t], `${t} is part of the contract`);
  }
});

void test('every workflow type of the contract is one the worker registers', async () => {
  const workflows = (await import('../../src/workflows')) as Record<string, unknown>;
  for (const name of Object.values(contract.WORKFLOW_TYPES)) assert.equal(typeof workflows[name], 'function', `${name} is not exported by src/workflows`);
});

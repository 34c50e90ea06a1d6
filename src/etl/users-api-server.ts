/**
 * A small users API to run the ETL against (seed 002's source shape):
 *
 *   GET /users?limit=&skip=   → {users, total, skip, limit}   (limit 0 or absent: 30; at most 1000)
 *   GET /departments.csv      → the lookup file the demo pipeline enriches from
 *   GET /health               → 200
 *   GET /_log | DELETE /_log  → the request log: one entry per /users request (page, skip, limit, status)
 *   GET /_faults | PUT /_faults {rules: FaultRule[]} → answer 500/429, stall, send malformed JSON or a
 *                               non-object record on chosen pages (page n covers skip (n-1)·limit)
 *
 * The data set is deterministic (src/etl/users-data.ts). The stack runs it as a loopback service
 * (`node --import tsx src/etl/users-api-server.ts --port N --total N`); tests start their own
 * with `startUsersApi()`.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { departmentsCsv, generateUser } from './users-data';

export interface FaultRule {
  /** 1-based page number: page n is the request with skip = (n-1)·limit */
  page: number;
  /** `status`: answer `status` (default 500); `stall`: wait `ms` (default: until closed) before answering;
   *  `malformed`: a body that is not JSON; `non_object`: the page's first record is a string */
  kind: 'status' | 'stall' | 'malformed' | 'non_object';
  status?: number;
  ms?: number;
  /** how many requests of that page it applies to (default: every one) */
  times?: number;
}

export interface RequestLogEntry {
  page: number;
  skip: number;
  limit: number;
  status: number;
  fault?: FaultRule['kind'];
}

export interface UsersApiOptions {
  host?: string;
  port?: number;
  total?: number;
  seed?: number;
  /** when set, /users answers 401 unless `Authorization: Bearer <token>` is sent */
  token?: string;
}

export interface UsersApi {
  url: string;
  port: number;
  total: number;
  log: RequestLogEntry[];
  setFaults(rules: FaultRule[]): void;
  close(): Promise<void>;
}

const MAX_LIMIT = 1000;

function send(res: http.ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > 1_000_000) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

export function createUsersApiServer(opts: UsersApiOptions = {}): { server: http.Server; state: { log: RequestLogEntry[]; faults: (FaultRule & { used: number })[] }; total: number } {
  const total = opts.total ?? 10_000;
  const seed = opts.seed ?? 2;
  const state = { log: [] as RequestLogEntry[], faults: [] as (FaultRule & { used: number })[] };
  const csv = departmentsCsv();
  const pending = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/health') return send(res, 200, '{"status":"ok"}');
      if (url.pathname === '/departments.csv') return send(res, 200, csv, 'text/csv');
      if (url.pathname === '/_log') {
        if (req.method === 'DELETE') state.log.length = 0;
        return send(res, 200, JSON.stringify(state.log));
      }
      if (url.pathname === '/_faults') {
        if (req.method === 'PUT' || req.method === 'POST') {
          try {
            const body = JSON.parse(await readBody(req)) as { rules?: FaultRule[] };
            state.faults = (body.rules ?? []).map((r) => ({ ...r, used: 0 }));
          } catch (err) {
            return send(res, 400, JSON.stringify({ error: `body must be {"rules": [...]}: ${(err as Error).message}` }));
          }
        }
        return send(res, 200, JSON.stringify({ rules: state.faults }));
      }
      if (url.pathname !== '/users') return send(res, 404, JSON.stringify({ message: `no route ${url.pathname}` }));

      if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
        return send(res, 401, JSON.stringify({ message: 'missing or wrong bearer token' }));
      }
      const num = (name: string, fallback: number) => {
        const v = url.searchParams.get(name);
        const n = v === null || v === '' ? fallback : Number(v);
        return Number.isInteger(n) && n >= 0 ? n : NaN;
      };
      let limit = num('limit', 30);
      const skip = num('skip', 0);
      if (Number.isNaN(limit) || Number.isNaN(skip)) return send(res, 400, JSON.stringify({ message: 'limit and skip must be whole numbers ≥ 0' }));
      if (limit === 0) limit = 30;
      limit = Math.min(limit, MAX_LIMIT);
      const page = Math.floor(skip / limit) + 1;
      const fault = state.faults.find((f) => f.page === page && (f.times === undefined || f.used < f.times));
      if (fault) fault.used++;
      const entry: RequestLogEntry = { page, skip, limit, status: 200, ...(fault ? { fault: fault.kind } : {}) };
      state.log.push(entry);

      if (fault?.kind === 'status') {
        entry.status = fault.status ?? 500;
        return send(res, entry.status, JSON.stringify({ message: `injected HTTP ${entry.status} on page ${page}` }));
      }
      if (fault?.kind === 'stall') {
        if (fault.ms === undefined) return; // never answers; the client's timeout must end it
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => (pending.delete(t), resolve()), fault.ms);
          pending.add(t);
        });
        if (res.destroyed) return;
      }
      const users: unknown[] = [];
      for (let i = skip; i < Math.min(skip + limit, total); i++) users.push(generateUser(i + 1, seed));
      if (fault?.kind === 'non_object' && users.length) users[0] = `user ${skip + 1} as a string`;
      const body = JSON.stringify({ users, total, skip, limit });
      if (fault?.kind === 'malformed') return send(res, 200, body.slice(0, Math.floor(body.length / 2)));
      return send(res, 200, body);
    })().catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ message: (err as Error).message }));
    });
  });
  server.on('close', () => {
    for (const t of pending) clearTimeout(t);
  });
  return { server, state, total };
}

/** Starts the users API on loopback (port 0: a free one). */
export async function startUsersApi(opts: UsersApiOptions = {}): Promise<UsersApi> {
  const { server, state, total } = createUsersApiServer(opts);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    total,
    log: state.log,
    setFaults: (rules) => {
      state.faults = rules.map((r) => ({ ...r, used: 0 }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const port = Number(argValue(argv, '--port') ?? process.env.BQSFTP_USERS_API_PORT ?? 8099);
  const total = Number(argValue(argv, '--total') ?? 10_000);
  const csvOut = argValue(argv, '--departments-out');
  if (csvOut) {
    fs.mkdirSync(path.dirname(csvOut), { recursive: true });
    fs.writeFileSync(csvOut, departmentsCsv());
  }
  startUsersApi({ port, total, host: argValue(argv, '--host') ?? '127.0.0.1' }).then(
    (api) => {
      process.stdout.write(`users API on ${api.url} (${api.total} users)\n`);
      const stop = () => void api.close().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
    (err: unknown) => {
      process.stderr.write(`users API: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}

import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import type * as ClientSdkModule from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type * as WorkerSdkModule from '@temporalio/worker';
import { dataConverterFor } from '../codec/data-converter';
import type { EncryptionSettings } from '../codec/encryption';

// Each SDK loads with its first connection: the worker SDK (native core, webpack: seconds) only for
// a worker; the client SDK (gRPC) only for a client — the CLI, the HTTP API, not a worker.
/* eslint-disable @typescript-eslint/no-require-imports */
const workerSdk = () => require('@temporalio/worker') as typeof WorkerSdkModule;
const clientSdk = () => require('@temporalio/client') as typeof ClientSdkModule;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Where Temporal is: the dev server locally, Temporal Cloud or a cluster in production. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: { cert_path: string; key_path: string; ca_path?: string; server_name?: string };
  /** the config's `encryption` block: with keys set, payloads are encrypted (see src/codec) */
  encryption?: EncryptionSettings;
}

function tlsOptions(settings: TemporalSettings) {
  if (settings.tls) {
    return {
      serverNameOverride: settings.tls.server_name,
      serverRootCACertificate: settings.tls.ca_path ? fs.readFileSync(settings.tls.ca_path) : undefined,
      clientCertPair: { crt: fs.readFileSync(settings.tls.cert_path), key: fs.readFileSync(settings.tls.key_path) },
    };
  }
  return settings.apiKey ? true : undefined;
}

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  const { Client, Connection } = clientSdk();
  const connection = await Connection.connect({ address: settings.address, tls: tlsOptions(settings), apiKey: settings.apiKey });
  return new Client({ connection, namespace: settings.namespace, dataConverter: dataConverterFor(settings.encryption) });
}

export async function connectWorkerConnection(settings: TemporalSettings): Promise<NativeConnection> {
  return workerSdk().NativeConnection.connect({ address: settings.address, tls: tlsOptions(settings), apiKey: settings.apiKey });
}

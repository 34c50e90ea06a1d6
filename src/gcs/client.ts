import { Storage } from '@google-cloud/storage';

export interface GcsEndpoint {
  /** e.g. http://127.0.0.1:4443 for fake-gcs-server; unset for real Cloud Storage. */
  apiEndpoint?: string;
  projectId?: string;
}

/**
 * A Storage client. Against an emulator endpoint no credentials are looked up (keep
 * METADATA_SERVER_DETECTION=none in the environment so nothing probes the metadata server).
 * Never set STORAGE_EMULATOR_HOST in this process: it replaces the base URL without /storage/v1.
 */
export function createStorage(endpoint: GcsEndpoint): Storage {
  return new Storage({
    projectId: endpoint.projectId,
    ...(endpoint.apiEndpoint ? { apiEndpoint: endpoint.apiEndpoint, useAuthWithCustomEndpoint: false } : {}),
  });
}

/** Parses `gs://bucket/some/prefix/` into bucket and prefix (prefix without a leading slash). */
export function parseGcsUri(uri: string): { bucket: string; prefix: string } {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`"${uri}" is not a gs:// URI (expected gs://<bucket>/<path>)`);
  return { bucket: m[1], prefix: m[2] };
}

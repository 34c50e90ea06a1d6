import { BigQuery } from '@google-cloud/bigquery';

export interface BigQueryEndpoint {
  /** e.g. http://127.0.0.1:9050 for bigquery-emulator; unset for real BigQuery. */
  apiEndpoint?: string;
  projectId: string;
  location?: string;
}

export function createBigQuery(endpoint: BigQueryEndpoint): BigQuery {
  return new BigQuery({
    projectId: endpoint.projectId,
    location: endpoint.location,
    ...(endpoint.apiEndpoint ? { apiEndpoint: endpoint.apiEndpoint } : {}),
  });
}

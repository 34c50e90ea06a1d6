import { z } from 'zod';

/** `metrics.prometheus`: serve /metrics (the SDK's worker metrics and ours) from `bq-sftp worker`. */
export const metricsPrometheusSchema = z.strictObject({
  port: z
    .number({ message: 'must be a port number, e.g. 9464' })
    .int('must be a whole port number, e.g. 9464')
    .min(1, 'must be a port between 1 and 65535, e.g. 9464')
    .max(65535, 'must be a port between 1 and 65535, e.g. 9464'),
  /** the address to listen on (0.0.0.0 so a Prometheus outside the container can scrape) */
  host: z.string().min(1, 'must be an address to listen on, e.g. 0.0.0.0').default('0.0.0.0'),
});

export const metricsSchema = z.strictObject({
  prometheus: metricsPrometheusSchema.optional(),
});

export const METRICS_STRICT_OBJECTS = { metrics: metricsSchema, 'metrics.prometheus': metricsPrometheusSchema };

/** bq-sftp's Prometheus metrics: the registry and hooks every family may call (README "Monitoring"). */
export { metrics, registry, familyOf, FAMILIES, type Family } from './registry';
export { metricsSchema, metricsPrometheusSchema, METRICS_STRICT_OBJECTS } from './config';

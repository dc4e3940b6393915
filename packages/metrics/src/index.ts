export { CounterRates } from './rates';
export { DEFAULT_METRICS_HOST, metricsHostSchema, metricsPortSchema, serveMetrics, type MetricsEndpoint } from './serve';
export { poolMetrics, portMetrics, readCounter, readGauge, ringMetrics, type Series } from './collect';

/**
 * mp-l2fwd's Prometheus metrics (--metrics-port): its ports and pools, what
 * the slaves counted per port (l2fwd's port statistics, in the stats zone)
 * and per slave (the recovery control zone), restarts, failures and how
 * long each recovery took. Counters are read at each scrape from those
 * zones; failures and recovery times are taken from the supervisor's events.
 */
import type { Mempool, Port } from '@mp/dpdk-core';
import { DEFAULT_METRICS_HOST, poolMetrics, portMetrics, readCounter, readGauge, serveMetrics, type MetricsEndpoint } from '@mp/metrics';
import type { Supervisor } from '@mp/recovery';
import { Counter, Histogram } from 'prom-client';
import type { AppOptions } from './args';
import { statIndex, type PortCounter } from './shared';

export interface MasterCounters {
  ports: readonly Port[];
  pools: readonly Mempool[];
  /** The stats zone the slaves' packet vectors add to. */
  stats: BigUint64Array;
  supervisor: Supervisor;
}

/** Listens when --metrics-port was given; nothing otherwise. */
export async function serveMasterMetrics(opts: Pick<AppOptions, 'metricsPort' | 'metricsHost'>, src: MasterCounters): Promise<MetricsEndpoint | undefined> {
  if (opts.metricsPort === undefined) return undefined;
  const endpoint = await serveMetrics({ host: opts.metricsHost ?? DEFAULT_METRICS_HOST, port: opts.metricsPort });
  const registry = endpoint.registry;
  portMetrics(registry, src.ports);
  poolMetrics(registry, src.pools);
  const perPort = (counter: PortCounter) => () => src.ports.map((p) => [{ port: p.id }, Number(src.stats[statIndex(p.id, counter)] ?? 0n)] as const);
  readCounter(registry, { name: 'mp_port_rx_packets_total', help: 'Packets the slaves received from the port', labelNames: ['port'], read: perPort('rx') });
  readCounter(registry, { name: 'mp_port_tx_packets_total', help: 'Packets the slaves sent on the port', labelNames: ['port'], read: perPort('tx') });
  readCounter(registry, {
    name: 'mp_port_tx_dropped_packets_total',
    help: "Packets the slaves dropped because the port's TX queue was full",
    labelNames: ['port'],
    read: perPort('dropped'),
  });
  // The slave's own counters (received, sent) start from 0 in each new process, as Prometheus allows of a counter.
  const perSlave = (value: (s: ReturnType<Supervisor['status']>[number]) => number) => () => src.supervisor.status().map((s) => [{ slave: s.name }, value(s)] as const);
  readCounter(registry, { name: 'mp_slave_rx_packets_total', help: 'Packets the slave process received', labelNames: ['slave'], read: perSlave((s) => Number(s.counters['received'] ?? 0)) });
  readCounter(registry, { name: 'mp_slave_tx_packets_total', help: 'Packets the slave process sent', labelNames: ['slave'], read: perSlave((s) => Number(s.counters['sent'] ?? 0)) });
  readCounter(registry, { name: 'mp_slave_restarts_total', help: 'Times the slave was restarted or its standby promoted', labelNames: ['slave'], read: perSlave((s) => s.restarts) });
  readGauge(registry, { name: 'mp_slave_up', help: '1 while the slave forwards', labelNames: ['slave'], read: perSlave((s) => (s.status === 'running' ? 1 : 0)) });
  readGauge(registry, {
    name: 'mp_slave_standby_ready',
    help: "1 while the slave's warm standby is attached and idle",
    labelNames: ['slave'],
    read: perSlave((s) => (s.standby?.status === 'idle' ? 1 : 0)),
  });
  const failures = new Counter({
    name: 'mp_slave_failures_total',
    help: 'Slave processes that crashed, hung, failed to start or to acknowledge a stop',
    labelNames: ['slave', 'reason'],
    registers: [registry],
  });
  const recovery = new Histogram({
    name: 'mp_recovery_duration_seconds',
    help: "From a slave's death seen to its group forwarding again (the supervisor's downtime)",
    labelNames: ['slave'],
    registers: [registry],
  });
  src.supervisor.on('exit', (e) => {
    if (e.reason !== 'stopped') failures.inc({ slave: e.name, reason: e.reason });
  });
  src.supervisor.on('recovered', (e) => {
    for (const name of e.crashed) recovery.observe({ slave: name }, e.downtimeMs / 1000);
  });
  return endpoint;
}

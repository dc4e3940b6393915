/**
 * mp-server's Prometheus metrics (--metrics-port): its ports, pool and client
 * rings, and per client what the server handed it and what it sent on each
 * port. Read at each scrape from what the server and its clients count
 * anyway: port_info, the server vector's per-output counters and the control
 * memzone.
 */
import type { Mempool, Port } from '@mp/dpdk-core';
import {
  DEFAULT_METRICS_HOST,
  poolMetrics,
  portMetrics,
  readCounter,
  ringMetrics,
  serveMetrics,
  type MetricsEndpoint,
} from '@mp/metrics';
import type { PacketRing } from '@mp/mp-ring';
import type { ServerOptions } from './args';
import { PORT_INFO } from './shared';

export interface ServerCounters {
  ports: readonly Port[];
  pool: Mempool;
  /** One per client, by client id. */
  rings: readonly PacketRing[];
  portInfo: DataView;
  /** Per client: packets the server enqueued on its ring, and dropped because the ring was full. */
  enqueued: Float64Array;
  dropped: Float64Array;
  repairs: (client: number) => number;
}

/** Listens when --metrics-port was given; nothing otherwise. */
export async function serveServerMetrics(
  opts: Pick<ServerOptions, 'metricsPort' | 'metricsHost' | 'portIds'>,
  src: ServerCounters,
): Promise<MetricsEndpoint | undefined> {
  if (opts.metricsPort === undefined) return undefined;
  const endpoint = await serveMetrics({ host: opts.metricsHost ?? DEFAULT_METRICS_HOST, port: opts.metricsPort });
  const registry = endpoint.registry;
  portMetrics(registry, src.ports);
  poolMetrics(registry, [src.pool]);
  ringMetrics(registry, src.rings);
  const clients = src.rings.map((_, c) => c);
  const perClient = (value: (c: number) => number) => () => clients.map((c) => [{ client: c }, value(c)] as const);
  // tx_stats is indexed by port id, as the C sample does.
  const perClientPort = (offset: (c: number, portId: number) => number) => () =>
    clients.flatMap((c) => opts.portIds.map((port) => [{ client: c, port }, Number(src.portInfo.getBigUint64(offset(c, port), true))] as const));
  readCounter(registry, {
    name: 'mp_client_rx_packets_total',
    help: "Packets the server enqueued on the client's ring",
    labelNames: ['client'],
    read: perClient((c) => src.enqueued[c] ?? 0),
  });
  readCounter(registry, {
    name: 'mp_client_rx_dropped_packets_total',
    help: "Packets the server dropped because the client's ring was full",
    labelNames: ['client'],
    read: perClient((c) => src.dropped[c] ?? 0),
  });
  readCounter(registry, { name: 'mp_client_tx_packets_total', help: 'Packets the client sent on the port', labelNames: ['client', 'port'], read: perClientPort(PORT_INFO.tx) });
  readCounter(registry, {
    name: 'mp_client_tx_dropped_packets_total',
    help: "Packets the client dropped because the port's TX queue was full",
    labelNames: ['client', 'port'],
    read: perClientPort(PORT_INFO.txDrop),
  });
  readCounter(registry, {
    name: 'mp_client_repairs_total',
    help: "Times the server reclaimed what the client's dead process held (pool repaired, vector and TX buffers settled)",
    labelNames: ['client'],
    read: perClient(src.repairs),
  });
  return endpoint;
}

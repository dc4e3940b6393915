/**
 * Metrics whose values are read at each scrape from what the app already
 * keeps (shared-memory counters, device statistics, pool and ring counts),
 * and the ones every primary has: its ports, pools and rings.
 */
import type { Mempool, Port, PortStats, Ring } from '@mp/dpdk-core';
import { Counter, Gauge, type Registry } from 'prom-client';

/** One series: its label values and its value. */
export type Series<L extends string> = readonly [labels: Record<L, string | number>, value: number];

interface ReadSpec<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  read: () => Iterable<Series<L>>;
}

/**
 * A counter holding what `read` returns at each scrape: the counts live in
 * the app's own counters (prom-client's inc() would have to be called from
 * the packet path). Series `read` no longer returns disappear.
 */
export function readCounter<L extends string>(registry: Registry, spec: ReadSpec<L>): void {
  const { read, ...config } = spec;
  new Counter<L>({
    ...config,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

/** A gauge holding what `read` returns at each scrape. */
export function readGauge<L extends string>(registry: Registry, spec: ReadSpec<L>): void {
  const { read, ...config } = spec;
  new Gauge<L>({
    ...config,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

const PORT_COUNTERS: ReadonlyArray<readonly [keyof PortStats, string, string]> = [
  ['ipackets', 'dpdk_port_rx_packets_total', 'Packets the port received (rte_eth_stats ipackets)'],
  ['opackets', 'dpdk_port_tx_packets_total', 'Packets the port sent (rte_eth_stats opackets)'],
  ['ibytes', 'dpdk_port_rx_bytes_total', 'Bytes the port received (rte_eth_stats ibytes)'],
  ['obytes', 'dpdk_port_tx_bytes_total', 'Bytes the port sent (rte_eth_stats obytes)'],
  ['imissed', 'dpdk_port_rx_missed_packets_total', 'Packets the port dropped because its RX queues were full (rte_eth_stats imissed)'],
  ['ierrors', 'dpdk_port_rx_errors_total', 'Erroneous packets the port received (rte_eth_stats ierrors)'],
  ['oerrors', 'dpdk_port_tx_errors_total', 'Packets the port failed to send (rte_eth_stats oerrors)'],
  ['rxNoMbuf', 'dpdk_port_rx_nombuf_total', 'RX buffer allocations that failed (rte_eth_stats rx_nombuf)'],
];

/** Device statistics of the ports, their names, MACs and links. */
export function portMetrics(registry: Registry, ports: readonly Port[]): void {
  for (const [field, name, help] of PORT_COUNTERS) {
    readCounter(registry, { name, help, labelNames: ['port'], read: () => ports.map((p) => [{ port: p.id }, p.stats()[field]] as const) });
  }
  readGauge(registry, {
    name: 'dpdk_port_info',
    help: "A port's device name and MAC address, as labels (value 1)",
    labelNames: ['port', 'name', 'mac'],
    read: () => ports.map((p) => [{ port: p.id, name: p.name, mac: p.mac }, 1] as const),
  });
  readGauge(registry, { name: 'dpdk_port_link_up', help: '1 while the port has link', labelNames: ['port'], read: () => ports.map((p) => [{ port: p.id }, p.link().up ? 1 : 0] as const) });
}

/** Occupancy of packet pools: size, buffers available (in the pool's ring and the lcore caches) and in use. */
export function poolMetrics(registry: Registry, pools: readonly Mempool[]): void {
  const gauge = (name: string, help: string, value: (pool: Mempool) => number): void =>
    readGauge(registry, { name, help, labelNames: ['pool'], read: () => pools.map((p) => [{ pool: p.name }, value(p)] as const) });
  gauge('mp_pool_size', 'Buffers the pool was created with', (p) => p.size);
  gauge('mp_pool_available', "Buffers in the pool, its ring and its lcore caches (rte_mempool_avail_count)", (p) => p.availableCount());
  gauge('mp_pool_in_use', 'Buffers out of the pool: in port queues, rings, bursts and TX buffers of any process (rte_mempool_in_use_count)', (p) => p.inUseCount());
}

/** Occupancy of rings: entries queued and the most they hold. */
export function ringMetrics(registry: Registry, rings: ReadonlyArray<Pick<Ring, 'name' | 'capacity' | 'count'>>): void {
  readGauge(registry, { name: 'mp_ring_entries', help: 'Entries queued in the ring (rte_ring_count)', labelNames: ['ring'], read: () => rings.map((r) => [{ ring: r.name }, r.count()] as const) });
  readGauge(registry, { name: 'mp_ring_capacity', help: 'The most entries the ring holds', labelNames: ['ring'], read: () => rings.map((r) => [{ ring: r.name }, r.capacity] as const) });
}

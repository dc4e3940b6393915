/**
 * Names and layouts shared by the master and its slaves (the role DPDK's
 * shared/common.h plays in the C samples).
 */
import { MAX_PORTS } from '@mp/dpdk-core';
import { declareZone, offsetOf, t } from '@mp/mp-ring';

/** One packet pool per slave: a slave killed mid-put can only ever jam its own pool. */
export function slavePoolName(unit: number): string {
  return `ms_pool_${unit}`;
}

/**
 * A slave's TX buffer toward one port, in a memzone: when the slave is killed
 * the master gives the packets in it back to the pool.
 */
export function txBufferName(unit: number, port: number): string {
  return `ms_txb_${unit}_${port}`;
}

/**
 * A slave's packet vector, named so that what it holds when the slave is
 * killed goes back to the pool (reclaimPacketVector).
 */
export function vectorName(unit: number): string {
  return `ms_vec_${unit}`;
}

/**
 * Packets a slave reads per RX burst and holds per TX buffer. C l2fwd's
 * MAX_PKT_BURST is 32, but the addon's work per burst (the pool journal's
 * records around each driver call) is the slave's largest cost beside the
 * driver's own, and bursts of 128 pay it a quarter as often (README,
 * Figures: 256 was no faster).
 */
export const SLAVE_BURST = 128;

/** Packets a slave takes per vector: 2 reads of SLAVE_BURST. */
export const VECTOR_CAPACITY = 256;

export const STATS_ZONE = 'ms_port_stats';
export const SUPERVISOR_ZONE = 'ms_recovery_ctl';
export const LCORE_ZONE = 'ms_lcore_alloc';

/**
 * Per port: received, sent, dropped; u64 words a single slave's packet
 * vector adds to as it moves the packets (so a killed slave's counts stop
 * where its packets did). Each counter has a cache line of its own: the
 * slave receiving on a port and the one sending on it are different
 * processes on different cores, and counters sharing a line would bounce it
 * between them on every vector.
 */
const portCounters = t.struct({ rx: t.cacheAligned(t.u64), tx: t.cacheAligned(t.u64), dropped: t.cacheAligned(t.u64) });

export const statsZone = declareZone({
  kind: 'mp-l2fwd port statistics',
  magic: 0x4d534c32, // "MSL2"
  version: 1,
  fields: t.struct({ ports: t.array(portCounters, MAX_PORTS) }),
});

export type PortCounter = keyof typeof portCounters.fields;

/** Where port `port`'s `counter` is among the zone's u64 words: the index a packet vector counts into. */
export function statIndex(port: number, counter: PortCounter): number {
  return (statsZone.fieldsOffset + offsetOf(statsZone.fields, ['ports', port, counter])) / 8;
}

/** A slave's own counters, in its control-zone slot: what it received and sent, and the lcore id EAL gave it. */
export const slaveCounters = t.struct({ received: t.f64, sent: t.f64, ealLcore: t.f64 });

/** What the master passes to each slave (one JSON argument). */
export interface SlaveConfig {
  unit: number;
  /** Ports this slave receives from, each with the port it sends to. */
  routes: Array<{ rx: number; tx: number }>;
  macUpdating: boolean;
}

/** Pool sizing: RX descriptors of its ports, a TX buffer per port, the vector, its cache (1.5x), headroom. */
export const RX_DESC = 1024;
export const TX_DESC = 1024;
export const POOL_CACHE = 256;
/**
 * The most buffers a slave puts into its pool's cache at once, which bounds
 * what a kill can leave half stored there (repairMempool's maxPut): what it
 * frees goes through rte_pktmbuf_free_bulk, which puts in chunks of 64 (its
 * bursts and TX buffers hold SLAVE_BURST), and net_null frees what a TX
 * burst carried one by one.
 */
export const SLAVE_MAX_PUT = 64;
export function poolSize(ports: number): number {
  return Math.max(4096, ports * (RX_DESC + TX_DESC + SLAVE_BURST) + VECTOR_CAPACITY + Math.ceil(POOL_CACHE * 1.5) * 2 + 1024);
}

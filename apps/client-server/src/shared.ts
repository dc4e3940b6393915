/**
 * What the server and its clients share, like the C sample's shared/common.h:
 * object names, sizing rules and the byte layout of `struct port_info`, kept
 * identical so that C and TypeScript processes attach to each other. Pure: no
 * EAL here.
 */
import { CACHE_LINE, offsetOf, t } from '@mp/mp-ring';

/** Slots in `port_info.tx_stats[]` (common.h MAX_CLIENTS). */
export const MAX_CLIENTS = 16;
/** RTE_MAX_ETHPORTS of Debian's DPDK 22.11 build: the length of every per-port array. */
export const MAX_ETHPORTS = 32;

export const PKTMBUF_POOL_NAME = 'MProc_pktmbuf_pool';
export const MZ_PORT_INFO = 'MProc_port_info';
/** Ours, not the C sample's: the client registry (registry.ts). */
export const MZ_REGISTRY = 'MProc_ts_control';

/** MP_CLIENT_RXQ_NAME "MProc_Client_%u_RX". */
export function clientRingName(clientId: number): string {
  return `MProc_Client_${clientId}_RX`;
}

/**
 * Ours: the memzone of a TS client's packet vector, where it journals each
 * batch it takes from its ring, so the server can put back in the ring what a
 * killed client had taken but not sent.
 */
export function clientVectorName(clientId: number): string {
  return `MProc_Client_${clientId}_vec`;
}

/** Ours: the memzone of a TS client's TX buffer toward one port, which the server empties when the client is killed. */
export function clientTxBufferName(clientId: number, portId: number): string {
  return `MProc_Client_${clientId}_TX_${portId}`;
}

/** init.c: MBUF_CACHE_SIZE, RTE_MP_{RX,TX}_DESC_DEFAULT, CLIENT_QUEUE_RINGSIZE. */
export const MBUF_CACHE_SIZE = 512;
export const RX_DESC = 1024;
export const TX_DESC = 1024;
export const CLIENT_QUEUE_RINGSIZE = 128;
/** main.c PACKET_READ_SIZE and client.c PKT_READ_SIZE / MBQ_CAPACITY. */
export const PACKET_READ_SIZE = 32;
export const TX_BUFFER_SIZE = 32;

/**
 * Ours: packets the server reads from a port at a time, twice the C server's
 * PACKET_READ_SIZE: the addon's work per read (the pool journal's records
 * around the driver call) is paid half as often (README, Benchmark). A
 * client's share still goes on its ring in pieces of PACKET_READ_SIZE
 * (server.ts).
 */
export const SERVER_READ_SIZE = 2 * PACKET_READ_SIZE;

/** Ours: packets the server takes per vector, a read's worth per client. */
export function serverVectorCapacity(numClients: number): number {
  return Math.min(512, SERVER_READ_SIZE * numClients);
}

/** init.c init_mbuf_pools: descriptors of every queue, client rings, and every lcore cache. */
export function poolSize(numPorts: number, numClients: number): number {
  return (
    RX_DESC * numPorts + numClients * (CLIENT_QUEUE_RINGSIZE + TX_DESC * numPorts) + (numClients + 1) * MBUF_CACHE_SIZE
  );
}

/** The queue plan of init.c init_port: one RX queue, one TX queue per client; client i transmits on queue i. */
export function queuePlan(numClients: number): { rxQueues: number; txQueues: number } {
  return { rxQueues: 1, txQueues: numClients };
}

/**
 * client.c configure_output_ports: pairs by position in the server's port
 * list (id[0]<->id[1], id[2]<->id[3]), not by raw port id. Returns the output
 * port for each input port id.
 */
export function pairPorts(portIds: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 0; i + 1 < portIds.length; i += 2) {
    const a = portIds[i] as number;
    const b = portIds[i + 1] as number;
    out.set(a, b);
    out.set(b, a);
  }
  return out;
}

/** common.h `struct rx_stats`, written by the server only. */
const rxStats = t.struct({ rx: t.array(t.u64, MAX_ETHPORTS) }, { align: CACHE_LINE });
/** common.h `struct tx_stats`: one per client, each written by its client only. */
const txStats = t.struct({ tx: t.array(t.u64, MAX_ETHPORTS), tx_drop: t.array(t.u64, MAX_ETHPORTS) }, { align: CACHE_LINE });

/**
 * common.h `struct port_info` (8576 bytes on x86_64), the `MProc_port_info`
 * memzone. Note the C sample's quirk, kept: `rx_stats.rx[]` is indexed by
 * port index, `tx_stats[].tx[]` by port id. test/shared.test.ts compiles
 * common.h and checks every offset.
 */
export const portInfoLayout = t.struct({
  num_ports: t.u16,
  id: t.array(t.u16, MAX_ETHPORTS),
  rx_stats: rxStats,
  tx_stats: t.array(txStats, MAX_CLIENTS),
});

/** Byte offsets into port_info, from the layout, for code that reads raw bytes (stats, the observer). */
export const PORT_INFO = {
  size: portInfoLayout.size,
  numPorts: portInfoLayout.offsets.num_ports,
  id: (index: number): number => offsetOf(portInfoLayout, ['id', index]),
  rx: (portIndex: number): number => offsetOf(portInfoLayout, ['rx_stats', 'rx', portIndex]),
  txStats: portInfoLayout.offsets.tx_stats,
  txStatsSize: txStats.size,
  tx: (client: number, portId: number): number => offsetOf(portInfoLayout, ['tx_stats', client, 'tx', portId]),
  txDrop: (client: number, portId: number): number => offsetOf(portInfoLayout, ['tx_stats', client, 'tx_drop', portId]),
} as const;


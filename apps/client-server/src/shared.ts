/**
 * What the server and its clients share, like the C sample's shared/common.h:
 * object names, sizing rules and the byte layout of `struct port_info`, kept
 * identical so that C and TypeScript processes attach to each other. Pure: no
 * EAL here.
 */

/** Slots in `port_info.tx_stats[]` (common.h MAX_CLIENTS). */
export const MAX_CLIENTS = 16;
/** RTE_MAX_ETHPORTS of Debian's DPDK 22.11 build: the length of every per-port array. */
export const MAX_ETHPORTS = 32;

export const PKTMBUF_POOL_NAME = 'MProc_pktmbuf_pool';
export const MZ_PORT_INFO = 'MProc_port_info';
/** Ours, not the C sample's: lifecycle and client registry (see control.ts). */
export const MZ_CONTROL = 'MProc_ts_control';

/** MP_CLIENT_RXQ_NAME "MProc_Client_%u_RX". */
export function clientRingName(clientId: number): string {
  return `MProc_Client_${clientId}_RX`;
}

/** init.c: MBUF_CACHE_SIZE, RTE_MP_{RX,TX}_DESC_DEFAULT, CLIENT_QUEUE_RINGSIZE. */
export const MBUF_CACHE_SIZE = 512;
export const RX_DESC = 1024;
export const TX_DESC = 1024;
export const CLIENT_QUEUE_RINGSIZE = 128;
/** main.c PACKET_READ_SIZE and client.c PKT_READ_SIZE / MBQ_CAPACITY. */
export const PACKET_READ_SIZE = 32;
export const TX_BUFFER_SIZE = 32;

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

/**
 * Byte layout of common.h `struct port_info` on x86_64 (64-byte cache lines):
 *   uint16_t num_ports;                          @0
 *   uint16_t id[RTE_MAX_ETHPORTS];               @2
 *   struct rx_stats { uint64_t rx[32]; }         @128 (cache aligned)
 *   struct tx_stats { uint64_t tx[32]; uint64_t tx_drop[32]; } [16]  @384, 512 bytes each
 * sizeof = 8576. test/layout.test.ts compiles common.h and checks every offset.
 */
export const PORT_INFO = {
  size: 8576,
  numPorts: 0,
  id: (index: number): number => 2 + 2 * index,
  rx: (portIndex: number): number => 128 + 8 * portIndex,
  txStats: 384,
  txStatsSize: 512,
  tx: (client: number, portId: number): number => 384 + 512 * client + 8 * portId,
  txDrop: (client: number, portId: number): number => 384 + 512 * client + 256 + 8 * portId,
} as const;

/**
 * Exit codes, the same for server and client (all within 1..127 so a shell
 * tells them from signals).
 */
export const EXIT = {
  /** A runtime failure (DPDK refused something after start). */
  failure: 1,
  /** Bad command line: an option, a value, a combination. */
  usage: 2,
  /** The command line is fine but the environment is not: no server, id in use, missing port. */
  setup: 3,
  /** The server (primary) died while this client ran. */
  serverGone: 4,
} as const;

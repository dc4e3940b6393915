/**
 * How the server hands received packets to its clients: a destination per
 * packet of a vector (the client's ring is output `dests[i]`). TypeScript over
 * the packet bytes in place; no native call per packet.
 */
import type { PacketVector } from '@mp/dpdk-core';

/** Writes a client index into `vec.dests` for each of its `vec.count` packets. */
export type Distributor = (vec: PacketVector) => void;

export const DISTRIBUTIONS = ['rr', 'flow'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

/**
 * main.c's round robin: one packet per client in turn, the cursor carrying
 * over from one vector to the next.
 */
export function roundRobin(clients: number): Distributor {
  let next = 0;
  return (vec) => {
    const dests = vec.dests;
    const n = vec.count;
    let c = next;
    for (let i = 0; i < n; i++) {
      dests[i] = c;
      if (++c === clients) c = 0;
    }
    next = c;
  };
}

const ETHER_HDR = 14;
const ETHERTYPE_IPV4 = 0x0800;
const IP_TCP = 6;
const IP_UDP = 17;
/** IPv4 flags and fragment offset: a packet with any of these but DF is a fragment (its ports are elsewhere). */
const IPV4_FRAGMENT = 0x3fff;

/** murmur3's 32-bit finaliser: every input bit reaches every output bit. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The flow a packet belongs to, hashed: IPv4 source and destination,
 * protocol and, for unfragmented TCP and UDP, both ports; any other frame by
 * its MAC pair. Fields are read little-endian (a hash need not be in network
 * order, and those loads are the cheapest). A frame too short for its own
 * headers is hashed by what it has.
 */
export function flowHash(vec: PacketVector, i: number): number {
  const len = vec.length(i);
  if (len < ETHER_HDR) return vec.ports[i] as number;
  if (len >= ETHER_HDR + 20 && vec.u16(i, 12) === ETHERTYPE_IPV4) {
    const ihl = (vec.u8(i, ETHER_HDR) & 0x0f) * 4;
    const proto = vec.u8(i, ETHER_HDR + 9);
    let h = mix(vec.u32le(i, ETHER_HDR + 12) ^ Math.imul(proto, 0x9e3779b9));
    h = mix(h ^ vec.u32le(i, ETHER_HDR + 16));
    if ((proto === IP_TCP || proto === IP_UDP) && (vec.u16(i, ETHER_HDR + 6) & IPV4_FRAGMENT) === 0 && len >= ETHER_HDR + ihl + 4) {
      h = mix(h ^ vec.u32le(i, ETHER_HDR + ihl));
    }
    return h >>> 0;
  }
  // Destination and source MAC: bytes 0..11.
  return mix(mix(mix(vec.u32le(i, 0)) ^ vec.u32le(i, 4)) ^ vec.u32le(i, 8)) >>> 0;
}

/** Every packet of a flow to the same client, so per-flow order holds end to end. */
export function byFlow(clients: number): Distributor {
  return (vec) => {
    const dests = vec.dests;
    const n = vec.count;
    for (let i = 0; i < n; i++) dests[i] = flowHash(vec, i) % clients;
  };
}

export function distributor(kind: Distribution, clients: number): Distributor {
  return kind === 'flow' ? byFlow(clients) : roundRobin(clients);
}

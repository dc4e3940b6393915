/**
 * How the server hands received packets to its clients: a destination per
 * packet of a vector (the client's ring is output `dests[i]`). TypeScript over
 * the packet bytes in place; no native call per packet.
 */
import type { PacketVector } from '@mp/dpdk-core';

/**
 * Writes a client index into `dests` for each packet the vector it was made
 * for holds. A distributor is made for one vector and keeps it and its
 * arrays in its closure: V8 compiles the flow handler's loop to about 5.0 ns
 * a packet that way, 5.7 when the same loop takes the vector as a parameter
 * (client-server's README, "Handlers made for their vector").
 */
export type Distributor = () => void;

export const DISTRIBUTIONS = ['rr', 'flow'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

/**
 * Whether a distribution reads packet bytes: round robin does not, so the
 * server's vector skips describing them (createPacketVector's `bytes`).
 */
export function readsBytes(distribution: Distribution): boolean {
  return distribution === 'flow';
}

/**
 * main.c's round robin: one packet per client in turn, the cursor carrying
 * over from one vector to the next.
 */
export function roundRobin(vec: PacketVector, clients: number): Distributor {
  const dests = vec.dests;
  let next = 0;
  return () => {
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
/** EtherType 0x0800 as the little-endian u16 of bytes 12-13. */
const IPV4_LE = 0x0008;
const IP_TCP = 6;
const IP_UDP = 17;
/**
 * Bytes 20-21 of the frame (IPv4 flags and fragment offset) as the low half
 * of the little-endian word at 20: MF and the offset, not DF. Nonzero means
 * a fragment, whose ports are elsewhere.
 */
const IPV4_FRAGMENT_LE = 0xff3f;

/** murmur3's 32-bit finaliser: every input bit reaches every output bit. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** A frame that is not IPv4, by its MAC pair (bytes 0-11). */
function macPairHash(vec: PacketVector, i: number): number {
  return mix(vec.u32le(i, 0) ^ Math.imul(vec.u32le(i, 4), 0x9e3779b9) ^ Math.imul(vec.u32le(i, 8), 0x85ebca6b)) >>> 0;
}

/**
 * The flow a packet belongs to, hashed: IPv4 source and destination,
 * protocol and, for unfragmented TCP and UDP, both ports; any other frame by
 * its MAC pair. Headers are read as little-endian 32-bit words (a hash need
 * not be in network order, and a word read is the cheapest access), five for
 * a UDP packet, combined with multiplies and mixed once: each accessor or
 * helper call inlined into the server's loop spends part of V8's inlining
 * budget (see @mp/dpdk-core's README), and a handler that outgrows it runs
 * several times slower. A frame too short for its own headers is hashed by
 * what it has.
 */
export function flowHash(vec: PacketVector, i: number): number {
  const len = vec.length(i);
  if (len < ETHER_HDR + 20) return len < ETHER_HDR ? (vec.ports[i] as number) : macPairHash(vec, i);
  // Bytes 12-15: EtherType, then version/IHL and TOS.
  const type = vec.u32le(i, 12);
  if ((type & 0xffff) !== IPV4_LE) return macPairHash(vec, i);
  const ihl = ((type >>> 16) & 0x0f) * 4;
  // Bytes 20-23: flags and fragment offset, TTL, protocol.
  const word = vec.u32le(i, ETHER_HDR + 6);
  const proto = word >>> 24;
  let h = vec.u32le(i, ETHER_HDR + 12) ^ Math.imul(vec.u32le(i, ETHER_HDR + 16), 0x9e3779b9) ^ proto;
  if ((proto === IP_TCP || proto === IP_UDP) && (word & IPV4_FRAGMENT_LE) === 0 && len >= ETHER_HDR + ihl + 4) {
    h ^= Math.imul(vec.u32le(i, ETHER_HDR + ihl), 0x85ebca6b);
  }
  return mix(h) >>> 0;
}

/** Every packet of a flow to the same client, so per-flow order holds end to end. */
export function byFlow(vec: PacketVector, clients: number): Distributor {
  const dests = vec.dests;
  return () => {
    const n = vec.count;
    for (let i = 0; i < n; i++) dests[i] = flowHash(vec, i) % clients;
  };
}

export function distributor(kind: Distribution, vec: PacketVector, clients: number): Distributor {
  return kind === 'flow' ? byFlow(vec, clients) : roundRobin(vec, clients);
}

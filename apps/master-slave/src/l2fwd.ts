/**
 * l2fwd's packet logic, in TypeScript over a packet vector: every packet
 * leaves through the port paired with the one it came in on, and with MAC
 * updating on (l2fwd_mac_updating) its Ethernet addresses are rewritten:
 * destination 02:00:00:00:00:<out port>, source the out port's MAC.
 */
import { DROP, ETHER_HDR_LEN, parseMac, type PacketVector } from '@mp/dpdk-core';

// Module-local copies for the packet loop: an imported binding compiles to a
// property of the package's exports, which its index defines as a getter, so
// reading it per packet would cost a getter call each time.
const drop = DROP;
const etherHdrLen = ETHER_HDR_LEN;

/** l2fwd's destination address for packets sent out of `outPort`. */
export function l2fwdDestinationMac(outPort: number): Uint8Array {
  return Uint8Array.of(0x02, 0, 0, 0, 0, outPort);
}

/**
 * The 12 address bytes of each output, as three little-endian 32-bit words
 * (the cheapest stores): bytes 0-3, 4-7 and 8-11 of the frame.
 */
function addressWords(outPort: number, outMac: string): [number, number, number] {
  const b = new Uint8Array(12);
  b.set(l2fwdDestinationMac(outPort), 0);
  b.set(parseMac(outMac), 6);
  const v = new DataView(b.buffer);
  return [v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)];
}

export interface L2fwdRoutes {
  /** Output index of each input port id (DROP: not forwarded). */
  outputOf: Uint16Array;
  /** Output port ids, in output order. */
  outputs: number[];
}

/** Output indexes for routes `{ rx, tx }` (several rx may share a tx). */
export function l2fwdRoutes(routes: ReadonlyArray<{ rx: number; tx: number }>, maxPorts: number): L2fwdRoutes {
  const outputs = [...new Set(routes.map((r) => r.tx))];
  const outputOf = new Uint16Array(maxPorts).fill(DROP);
  for (const r of routes) outputOf[r.rx] = outputs.indexOf(r.tx);
  return { outputOf, outputs };
}

/**
 * The handler of `vec`: a destination for every packet it holds, and the MAC
 * rewrite when `macs` (each output port's MAC, in output order) is given.
 * Frames shorter than an Ethernet header are forwarded as they are, as the
 * native rewrite did. Made for one vector, whose arrays it keeps in its
 * closure: V8 compiles a loop over them tighter than over ones loaded from a
 * parameter at each call (@mp/dpdk-core's README, Speed).
 */
export function l2fwdHandler(vec: PacketVector, routes: L2fwdRoutes, macs: readonly string[] | null): () => void {
  const { outputOf } = routes;
  const { dests, ports } = vec;
  if (macs === null) {
    return () => {
      const n = vec.count;
      for (let i = 0; i < n; i++) dests[i] = outputOf[ports[i] as number] as number;
    };
  }
  const words = routes.outputs.map((port, k) => addressWords(port, macs[k] as string));
  const w0 = Uint32Array.from(words, (w) => w[0]);
  const w1 = Uint32Array.from(words, (w) => w[1]);
  const w2 = Uint32Array.from(words, (w) => w[2]);
  return () => {
    const n = vec.count;
    // The words of the output the last packet went to: packets come in runs
    // from one port, and three typed-array loads per packet cost V8 more
    // than the three stores they feed.
    let last = -1;
    let a = 0;
    let b = 0;
    let c = 0;
    for (let i = 0; i < n; i++) {
      const o = outputOf[ports[i] as number] as number;
      dests[i] = o;
      if (o === drop || vec.length(i) < etherHdrLen) continue;
      if (o !== last) {
        last = o;
        a = w0[o] as number;
        b = w1[o] as number;
        c = w2[o] as number;
      }
      vec.setU32le(i, 0, a);
      vec.setU32le(i, 4, b);
      vec.setU32le(i, 8, c);
    }
  };
}

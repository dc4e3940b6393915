/**
 * net_null hands out its pool's buffers as they are (it writes no packet
 * bytes), so a pool whose every buffer once held a UDP/IPv4 flow's headers
 * makes net_null an endless source of real flows: what the flow-hash
 * micro-benchmark gives `--distribute flow` to parse. Such a frame's flow is
 * its buffer's, though, so it suits only a loop that drops nothing: where a
 * full ring's share is dropped, the dropped buffers are read again first
 * and the flows stop being a fair sample (bench.ts's flowPorts says how).
 */
import { Burst, type Mempool } from '@mp/dpdk-core';
import { udpFlowFrames } from '@mp/test-kit';

export const FLOWS = 1024;

/** Writes one of FLOWS flows' headers into every free buffer of `pool`; returns how many. */
export function fillPoolWithFlows(pool: Mempool): number {
  const frames = udpFlowFrames(FLOWS, 1).map((f) => new Uint8Array(f));
  const held: Burst[] = [];
  for (let k = 0; ; k++) {
    const b = new Burst(1);
    if (b.allocPackets(pool, [frames[k % frames.length] as Uint8Array]) === 0) break;
    held.push(b);
  }
  for (const b of held) b.free();
  return held.length;
}

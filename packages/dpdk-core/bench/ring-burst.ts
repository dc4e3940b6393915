/**
 * The TypeScript side of the ring benchmark: the same loop as ring-burst.c.
 * Usage: ring-burst.ts [EAL args] -- ITERATIONS ROUNDS
 */
import { Burst, cleanup, createPacketRing, createPktmbufPool, initEalFromArgv } from '../src';
import { native } from '../src/native';

declare module '../src/native' {
  interface NativeAddon {
    calibrationEmptyCall(): void;
    calibrationBurstCall(burstId: number): number;
  }
}

const { appArgs } = initEalFromArgv(process.argv.slice(2));
const iterations = Number(appArgs[0]);
const rounds = Number(appArgs[1]);
const pool = createPktmbufPool('bench_pool', { size: 1023 });
const ring = createPacketRing('bench_ring', { size: 1024, producer: 'single', consumer: 'single' });
const burst = new Burst(32);
if (pool.allocBulk(burst, 32) !== 32) throw new Error('cannot allocate 32 packets');
let best = Infinity;
let moved = 0;
for (let r = 0; r < rounds; r++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    ring.enqueueBurst(burst);
    moved += ring.dequeueBurst(burst);
  }
  const per = Number(process.hrtime.bigint() - t0) / (iterations * 32);
  if (per < best) best = per;
}

// The N-API floor, measured the same way: a call that does nothing, and a
// packet-shaped call (Burst.idOf, the id resolved, a number returned) that
// moves nothing. Two of the latter per burst bound what the ring loop can reach.
function perCall(body: () => void): number {
  let min = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    body();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / iterations);
  }
  return min;
}
const { calibrationEmptyCall, calibrationBurstCall } = native;
const emptyCallNs = perCall(() => {
  for (let i = 0; i < iterations; i++) calibrationEmptyCall();
});
const burstCallNs = perCall(() => {
  for (let i = 0; i < iterations; i++) calibrationBurstCall(Burst.idOf(burst));
});
process.stdout.write(`RESULT ${JSON.stringify({ nsPerPacket: best, moved, emptyCallNs, burstCallNs })}\n`);
burst.free();
ring.free();
pool.free();
cleanup();

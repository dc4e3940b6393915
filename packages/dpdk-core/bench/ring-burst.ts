/**
 * The TypeScript side of the ring benchmark: the same loop as ring-burst.c.
 * It imports the package's compiled output, as applications do (see run.ts).
 * Usage: ring-burst.ts [EAL args] -- ITERATIONS ROUNDS
 */
import { Burst, cleanup, createPacketRing, createPktmbufPool, initEalFromArgv } from '../dist';
import { burstId } from '../dist/burst';
import { fastArgs, fastResult } from '../dist/fastcall';
import { native } from '../dist/native';

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
// packet-shaped call (Burst.idOf, the id through the frame and resolved, a
// count read back) that moves nothing. Two of the latter per burst bound what the ring loop can reach.
function perCall(body: () => void): number {
  let min = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    body();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / iterations);
  }
  return min;
}
// Imported bindings are read once: under tsx every read of one is a getter call.
const { calibrationEmptyCall, calibrationBurstCall } = native;
const idOf = burstId;
const args = fastArgs;
const result = fastResult;
const emptyCallNs = perCall(() => {
  for (let i = 0; i < iterations; i++) calibrationEmptyCall();
});
const burstCallNs = perCall(() => {
  for (let i = 0; i < iterations; i++) {
    args[0] = idOf(burst);
    calibrationBurstCall();
    if (result[0] !== 32) throw new Error('calibration call lost the burst');
  }
});
process.stdout.write(`RESULT ${JSON.stringify({ nsPerPacket: best, moved, emptyCallNs, burstCallNs })}\n`);
burst.free();
ring.free();
pool.free();
cleanup();

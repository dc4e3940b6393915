/**
 * The TypeScript side of the pipeline benchmark: the same loop as pipeline.c,
 * one native call per step: rx(32) -> ring -> dequeue(32) -> TX buffer.
 * It imports the package's compiled output, as applications do (see run.ts).
 * Usage: pipeline.ts [EAL args with two net_null vdevs] -- ITERATIONS ROUNDS
 */
import { Burst, cleanup, createPacketRing, createPktmbufPool, createTxBuffer, initEalFromArgv, openPort } from '../dist';

const { appArgs } = initEalFromArgv(process.argv.slice(2));
const iterations = Number(appArgs[0]);
const rounds = Number(appArgs[1]);
const pool = createPktmbufPool('bench_pool', { size: 8191, cacheSize: 256 });
const ring = createPacketRing('bench_ring', { size: 1024, producer: 'single', consumer: 'single' });
const ports = [0, 1].map((id) => {
  const port = openPort(id);
  port.configure({ rxQueues: 1, txQueues: 1, rss: false });
  port.setupRxQueue(0, pool);
  port.setupTxQueue(0);
  port.start();
  return port;
});
const rxPort = ports[0]!;
const txb = createTxBuffer(1, 0, { size: 32 });
const input = new Burst(32);
const output = new Burst(32);
let best = 0;
let total = 0;
for (let r = 0; r < rounds; r++) {
  let moved = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const n = rxPort.rx(0, input);
    if (ring.enqueueBurst(input) < n) input.free();
    moved += ring.dequeueBurst(output);
    txb.buffer(output);
  }
  txb.flush();
  const mpps = moved / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6;
  if (mpps > best) best = mpps;
  total += moved;
}
process.stdout.write(`RESULT ${JSON.stringify({ mpps: best, moved: total })}\n`);
txb.free();
for (const p of ports) {
  p.stop();
  p.close();
}
ring.free();
pool.free();
cleanup();

/**
 * The TypeScript side of the flow-hash micro-benchmark: the server's
 * `--distribute flow` handler (src/distribute.ts, compiled) over 512-packet
 * vectors from net_null, whose pool buffers hold 1024 UDP/IPv4 flows; only
 * the handler is timed, as in flow-hash.c. With `unchecked` the same handler
 * reads through `unsafeMemory()` with no bounds check: what the checks cost,
 * and the fastest this code shape runs in V8.
 *
 *   flow-hash.ts [EAL args with one net_null vdev] -- VECTORS ROUNDS CLIENTS [checked|unchecked]
 */
import { performance } from 'node:perf_hooks';
import { cleanup, createPacketVector, createPktmbufPool, initEalFromArgv, openPort, type PacketVector } from '@mp/dpdk-core';
import { byFlow } from '../dist/distribute';
import { fillPoolWithFlows } from './flows';

const VECTOR = 512;

const { appArgs } = initEalFromArgv(process.argv.slice(2));
const [vectors, rounds, clients] = appArgs.slice(0, 3).map(Number) as [number, number, number];
const unchecked = appArgs[3] === 'unchecked';
const pool = createPktmbufPool('fh_pool', { size: 8191, cacheSize: 256 });
const port = openPort(0);
port.configure({ rxQueues: 1, txQueues: 1, rss: false });
port.setupRxQueue(0, pool);
port.setupTxQueue(0);
port.start();
fillPoolWithFlows(pool);
const vec = createPacketVector({ pool, capacity: VECTOR, input: { ports: [{ port: 0 }] }, outputs: [{ port: 0 }] });
const { view, offsets } = vec.unsafeMemory();
// The vector with its u32le, the only accessor flowHash reads headers with, unchecked.
const target: PacketVector = unchecked
  ? (Object.create(vec, { u32le: { value: (i: number, w: number): number => view.getUint32((offsets[i] as number) + w, true) } }) as PacketVector)
  : vec;
const distribute = byFlow(target, clients);
let best = Infinity;
let checksum = 0;
for (let r = 0; r < rounds; r++) {
  let handler = 0;
  let packets = 0;
  for (let v = 0; v < vectors; v++) {
    const n = vec.fill();
    const t0 = performance.now();
    distribute();
    handler += performance.now() - t0;
    for (let i = 0; i < n; i++) checksum += vec.dests[i] as number;
    vec.free();
    packets += n;
  }
  best = Math.min(best, (handler * 1e6) / packets);
}
process.stdout.write(`RESULT ${JSON.stringify({ nsPerPacket: best, checksum })}\n`);
vec.close();
port.close();
pool.free();
cleanup();

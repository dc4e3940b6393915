/**
 * Benchmark observer: attaches to a client-server group as a secondary,
 * reads the port_info counters (C layout, so it works for C and TS pairs),
 * reads them again every 250 ms through the measurement window (sleeping
 * between reads) and prints one JSON line.
 *
 *   observe.ts [EAL args] -- SECONDS
 */
import { initEalFromArgv, lookupMemzone } from '@mp/dpdk-core';
import { MAX_CLIENTS, MAX_ETHPORTS, MZ_PORT_INFO, PORT_INFO } from '../src/shared';

function read(view: DataView): { tx: number; rx: number; perClient: number[]; time: number } {
  let rx = 0;
  const perClient: number[] = [];
  for (let c = 0; c < MAX_CLIENTS; c++) {
    let t = 0;
    for (let p = 0; p < MAX_ETHPORTS; p++) t += Number(view.getBigUint64(PORT_INFO.tx(c, p), true));
    perClient.push(t);
  }
  for (let p = 0; p < MAX_ETHPORTS; p++) rx += Number(view.getBigUint64(PORT_INFO.rx(p), true));
  return { tx: perClient.reduce((a, b) => a + b, 0), rx, perClient, time: performance.now() };
}

const { appArgs } = initEalFromArgv(process.argv.slice(2));
const [seconds] = appArgs.map(Number) as [number];
/**
 * The window is read in slices too: a run that spent part of its window in
 * the far CPU placement (bench.ts, cpuPlacement) shows it as slow slices,
 * and the median slice is the rate of the placement the run mostly had.
 */
const SLICE_MS = 250;
const view = new DataView(lookupMemzone(MZ_PORT_INFO).view());
const start = read(view);
const sliceTxPps: number[] = [];
let last = start;
const timer = setInterval(() => {
  const now = read(view);
  sliceTxPps.push(((now.tx - last.tx) * 1000) / (now.time - last.time));
  last = now;
  if (now.time - start.time < seconds * 1000 - SLICE_MS / 2) return;
  clearInterval(timer);
  const dt = (now.time - start.time) / 1000;
  const clientTxPps = now.perClient.map((t, c) => (t - (start.perClient[c] as number)) / dt);
  process.stdout.write(`${JSON.stringify({ seconds: dt, rxPps: (now.rx - start.rx) / dt, clientTxPps, sliceTxPps })}\n`);
}, SLICE_MS);

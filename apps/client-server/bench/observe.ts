/**
 * Benchmark observer: attaches to a client-server group as a secondary,
 * reads the port_info counters (C layout, so it works for C and TS pairs),
 * sleeps through the measurement window without using the CPU, reads again
 * and prints one JSON line.
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
const view = new DataView(lookupMemzone(MZ_PORT_INFO).view());
const start = read(view);
setTimeout(() => {
  const end = read(view);
  const dt = (end.time - start.time) / 1000;
  const clientTxPps = end.perClient.map((t, c) => (t - (start.perClient[c] as number)) / dt);
  process.stdout.write(`${JSON.stringify({ seconds: dt, txPps: (end.tx - start.tx) / dt, rxPps: (end.rx - start.rx) / dt, clientTxPps })}\n`);
}, seconds * 1000);

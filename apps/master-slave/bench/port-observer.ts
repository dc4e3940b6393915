/**
 * Benchmark helper: attaches as a secondary to a running primary (C l2fwd or
 * mp-l2fwd) and reads rte_eth_stats of every port twice, WARM_MS after
 * attaching and DURATION_MS later, so both sides are measured by the same
 * code from the same device counters. `[EAL options] -- WARM_MS DURATION_MS`;
 * prints `RESULT {json}`.
 */
import { performance } from 'node:perf_hooks';
import { cleanup, initEalFromArgv, openPort, portIds } from '@mp/dpdk-core';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { appArgs } = initEalFromArgv(process.argv.slice(2));
  const [warmMs = 1000, durationMs = 5000] = appArgs.map(Number);
  const ports = portIds().map((id) => openPort(id));
  const read = (): { t: number; tx: number; rx: number; drops: number } => {
    const t = performance.now();
    let tx = 0;
    let rx = 0;
    let drops = 0;
    for (const p of ports) {
      const s = p.stats();
      tx += s.opackets;
      rx += s.ipackets;
      drops += s.oerrors + s.imissed + s.rxNoMbuf;
    }
    return { t, tx, rx, drops };
  };
  await sleep(warmMs);
  const a = read();
  await sleep(durationMs);
  const b = read();
  const seconds = (b.t - a.t) / 1000;
  process.stdout.write(
    `RESULT ${JSON.stringify({ seconds, txMpps: (b.tx - a.tx) / seconds / 1e6, rxMpps: (b.rx - a.rx) / seconds / 1e6, drops: b.drops - a.drops })}\n`,
  );
  cleanup();
}

void main();

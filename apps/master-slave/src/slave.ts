/**
 * A forwarding slave: a DPDK secondary started by the master's Supervisor.
 * Receives bursts on its ports, rewrites MACs as l2fwd does (unless
 * disabled), buffers them for the paired port and drains the TX buffers at
 * least every 100 µs. Bumps its heartbeat every iteration; on STOP flushes,
 * acknowledges and exits; on PAUSE flushes and idles until RESUME. Started as
 * a warm standby it attaches and waits, touching no pool or queue, until the
 * supervisor promotes it.
 */
import { performance } from 'node:perf_hooks';
import { Burst, createTxBuffer, currentLcore, initEalFromArgv, lookupMemzone, rxBurst, type TxBuffer } from '@mp/dpdk-core';
import { attachSlave } from '@mp/recovery';
import { STAT, STATS_ZONE, statIndex, txBufferName, type SlaveConfig } from './names';

const DRAIN_MS = 0.1;
const YIELD_MS = 5;
/**
 * The clock is read every CLOCK_EVERY iterations (a power of two): an
 * iteration takes well under 10 µs even with full bursts, so the 100 µs drain
 * bound holds, and a full burst of 32 leaves through its TX buffer at once
 * anyway (the buffer holds 32).
 */
const CLOCK_EVERY = 8;

async function main(): Promise<void> {
  const { appArgs } = initEalFromArgv(process.argv.slice(2));
  const config = JSON.parse(appArgs[0] ?? '{}') as SlaveConfig;
  const link = attachSlave();
  const stats = new Float64Array(lookupMemzone(STATS_ZONE).view());
  const burst = new Burst(32);
  await link.whenActive();
  const routes = config.routes.map((r) => ({
    rx: r.rx,
    tx: r.tx,
    buffer: createTxBuffer(r.tx, 0, { size: 32, name: txBufferName(config.unit, r.tx) }) as TxBuffer,
    rxAt: statIndex(r.rx, STAT.rx),
    txAt: statIndex(r.tx, STAT.tx),
    dropAt: statIndex(r.tx, STAT.dropped),
    dropBase: stats[statIndex(r.tx, STAT.dropped)] as number,
  }));
  const counters = link.counters;
  // The lcore id EAL gave this process, for the master to check (counter 15).
  counters[15] = currentLcore() ?? -1;
  let lastDrain = performance.now();
  let iteration = 0;

  const flushAll = (): void => {
    for (const r of routes) {
      const sent = r.buffer.flush();
      if (sent > 0) {
        stats[r.txAt] = (stats[r.txAt] as number) + sent;
        counters[1] = (counters[1] as number) + sent;
      }
      stats[r.dropAt] = r.dropBase + r.buffer.dropped;
    }
  };

  const stop = (): void => {
    flushAll();
    for (const r of routes) {
      r.buffer.free();
      stats[r.dropAt] = r.dropBase + r.buffer.dropped;
    }
    burst.free();
    link.ack();
    link.exiting();
    process.exit(0);
  };

  const run = (): void => {
    const yieldAt = performance.now() + YIELD_MS;
    for (;;) {
      if (link.tick()) {
        if (link.command() !== 'pause') return stop();
        flushAll();
        void link.pause().then((next) => {
          if (next === 'stop') return stop();
          lastDrain = performance.now();
          setImmediate(run);
        });
        return;
      }
      for (const r of routes) {
        const n = rxBurst(r.rx, 0, burst);
        if (n === 0) continue;
        stats[r.rxAt] = (stats[r.rxAt] as number) + n;
        counters[0] = (counters[0] as number) + n;
        if (config.macUpdating) burst.rewriteMacs(r.tx);
        const sent = r.buffer.buffer(burst);
        if (sent > 0) {
          stats[r.txAt] = (stats[r.txAt] as number) + sent;
          counters[1] = (counters[1] as number) + sent;
        }
      }
      if ((++iteration & (CLOCK_EVERY - 1)) !== 0) continue;
      const now = performance.now();
      if (now - lastDrain >= DRAIN_MS) {
        lastDrain = now;
        flushAll();
        if (now >= yieldAt) break;
      }
    }
    setImmediate(run);
  };
  run();
}

void main();

/**
 * A forwarding slave: a DPDK secondary started by the master's Supervisor.
 * Fills a packet vector from its ports, runs l2fwd's logic on it in
 * TypeScript (l2fwd.ts), hands it to the TX buffers of the paired ports and
 * drains them at least every 100 µs. Bumps its heartbeat every iteration; on
 * STOP flushes, acknowledges and exits; on PAUSE flushes and idles until
 * RESUME. Started as a warm standby it attaches and waits, touching no pool
 * or queue, until the supervisor promotes it.
 */
import { MAX_PORTS, createPacketVector, currentLcore, initEalFromArgv, lookupMempool, monotonicMs, ports as portList } from '@mp/dpdk-core';
import { openZone } from '@mp/mp-ring';
import { attachSlave } from '@mp/recovery';
import { l2fwdHandler, l2fwdRoutes } from './l2fwd';
import { SLAVE_BURST, STATS_ZONE, VECTOR_CAPACITY, slaveCounters, slavePoolName, statIndex, statsZone, txBufferName, vectorName, type SlaveConfig } from './shared';

/** The packet loop's clock, bound here: through the package's exports it would be a getter call each time. */
const now = monotonicMs;

const DRAIN_MS = 0.1;
const YIELD_MS = 5;
/**
 * The clock is read every CLOCK_EVERY iterations (a power of two): an
 * iteration takes well under 20 µs even with a full vector, so the 100 µs
 * drain bound holds, and full TX buffers leave at once anyway.
 */
const CLOCK_EVERY = 4;

async function main(): Promise<void> {
  const { appArgs } = initEalFromArgv(process.argv.slice(2));
  const config = JSON.parse(appArgs[0] ?? '{}') as SlaveConfig;
  const link = attachSlave({ counters: slaveCounters });
  await link.whenActive();
  const routes = l2fwdRoutes(config.routes, MAX_PORTS);
  const macOf = new Map(portList().map((p) => [p.id, p.mac]));
  // Named: what it holds when this process is killed goes back to the pool (the master reclaims it).
  const vec = createPacketVector({
    pool: lookupMempool(slavePoolName(config.unit)),
    capacity: VECTOR_CAPACITY,
    // Without MAC updating the handler routes by input port and reads no byte.
    bytes: config.macUpdating,
    // The rewrite writes each packet's first line and reads none of it:
    // prefetching the line in fill() cost it 3-5 % (README, Figures).
    prefetch: false,
    input: { ports: config.routes.map((r) => ({ port: r.rx, queue: 0 })), burstSize: SLAVE_BURST },
    outputs: routes.outputs.map((port) => ({ port, queue: 0, buffer: { size: SLAVE_BURST, name: txBufferName(config.unit, port) } })),
    name: vectorName(config.unit),
    counters: {
      array: new BigUint64Array(openZone(STATS_ZONE, statsZone).memzone.view()),
      received: config.routes.map((r) => statIndex(r.rx, 'rx')),
      sent: routes.outputs.map((p) => statIndex(p, 'tx')),
      dropped: routes.outputs.map((p) => statIndex(p, 'dropped')),
    },
  });
  const handle = l2fwdHandler(vec, routes, config.macUpdating ? routes.outputs.map((p) => macOf.get(p) as string) : null);
  const counters = link.counters;
  // The lcore id EAL gave this process, for the master to check.
  counters.ealLcore = currentLcore() ?? -1;
  let received = 0;
  let sent = 0;
  // The supervisor reads and resets the counters after a death: they take the increments.
  const publish = (): void => {
    let rx = 0;
    let tx = 0;
    for (let k = 0; k < vec.received.length; k++) rx += vec.received[k] as number;
    for (let k = 0; k < vec.sent.length; k++) tx += vec.sent[k] as number;
    counters.received += rx - received;
    counters.sent += tx - sent;
    received = rx;
    sent = tx;
  };

  const stop = (): void => {
    vec.flush();
    vec.close();
    publish();
    link.ack();
    link.exiting();
    process.exit(0);
  };

  let lastDrain = now();
  let iteration = 0;
  const run = (): void => {
    const yieldAt = now() + YIELD_MS;
    for (;;) {
      if (link.tick()) {
        if (link.command() !== 'pause') return stop();
        vec.flush();
        publish();
        void link.pause().then((next) => {
          if (next === 'stop') return stop();
          lastDrain = now();
          setImmediate(run);
        });
        return;
      }
      if (vec.fill() > 0) {
        handle();
        vec.send();
      }
      if ((++iteration & (CLOCK_EVERY - 1)) !== 0) continue;
      const t = now();
      if (t - lastDrain >= DRAIN_MS) {
        lastDrain = t;
        vec.flush();
        publish();
        if (t >= yieldAt) break;
      }
    }
    setImmediate(run);
  };
  run();
}

void main();

/**
 * mp-l2fwd's live rates and Prometheus endpoint, on net_null ports (they
 * receive as fast as a slave polls): the endpoint answers in Prometheus'
 * text format with the port counters moving between two scrapes, the JSON
 * stats carry rates that agree with their counters, a SIGKILLed slave shows
 * as a failure, a restart and a recovery time, a second master on the same
 * metrics port and a bad --metrics-port are refused with the reason and
 * leave nothing, and shutdown closes the endpoint and leaves nothing.
 */
import path from 'node:path';
import { assertCleanTeardown, ealArgs, freeTcpPort, leftovers, requireHugepages, scrape, startFixture, uniquePrefix, type Fixture } from '@mp/test-kit';
import { EXIT } from '@mp/dpdk-core/cli';
import type { SlaveStats, StatsSnapshot } from '../src/stats';

const MAIN = path.join(__dirname, '..', 'dist', 'main.js');
const LCORES = '--lcores=0@0,1@0,2@1';

type Ev = Record<string, unknown> & { event: string };
type StatsEvent = Ev & StatsSnapshot & { slaves: SlaveStats[]; pools: Array<{ name: string; size: number; available: number; inUse: number }> };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

const events = (f: Fixture): Ev[] => f.stdoutLines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Ev);

async function waitEvent<T extends Ev = Ev>(f: Fixture, pred: (e: Ev) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = events(f).find(pred);
    if (found) return found as T;
    if (f.exitStatus !== undefined) throw new Error(`mp-l2fwd exited before the event\n${f.describe()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for an event\n${f.describe()}`);
    await sleep(20);
  }
}

function l2fwd(prefix: string, app: string[]): Fixture {
  return startFixture(MAIN, [...ealArgs(prefix, [LCORES, '--vdev=net_null0', '--vdev=net_null1']), '--', '-p', '3', ...app]);
}

test('serves metrics with moving port counters, rates in the JSON stats, a killed slave counted, a port in use refused, nothing left behind', async () => {
  const port = await freeTcpPort();
  const url = `http://127.0.0.1:${port}/metrics`;
  const master = l2fwd(uniquePrefix('ms-metrics'), ['-T', '1', '--json', '--metrics-port', String(port)]);
  expect(await waitEvent(master, (e) => e.event === 'metrics')).toEqual({ event: 'metrics', url });
  await waitEvent(master, (e) => e.event === 'started');

  // Rates: none in the first stats; then positive and equal to what moved between two stats.
  const isStats = (e: Ev): e is StatsEvent => e.event === 'stats';
  const moving = (e: Ev): boolean => isStats(e) && e.slaves.every((s) => (s.rates?.rxPps ?? 0) > 0) && e.ports.every((p) => (p.rates?.txPps ?? 0) > 0);
  const forwarding = await waitEvent<StatsEvent>(master, moving);
  const all = events(master).filter(isStats);
  expect(all[0]?.ports.every((p) => p.rates === undefined)).toBe(true);
  const before = all[all.findIndex(moving) - 1] as StatsEvent;
  for (const [i, p] of forwarding.ports.entries()) {
    const moved = p.tx - (before.ports[i]?.tx ?? NaN);
    // The stats come every 1 s or later (a busy machine delays the timer): the rate is what moved over that time.
    expect(p.rates?.txPps).toBeGreaterThan(moved / 10);
    expect(p.rates?.txPps).toBeLessThan(moved * 1.1);
    expect(p.rates).toMatchObject({ droppedPps: 0, rxBps: 0, txBps: 0 });
  }
  expect(forwarding.total.rates?.txPps).toBeCloseTo((forwarding.ports[0]?.rates?.txPps ?? NaN) + (forwarding.ports[1]?.rates?.txPps ?? NaN));
  expect(forwarding.pools.map((p) => p.name)).toEqual(['ms_pool_0', 'ms_pool_1']);

  const first = await scrape(url, ['dpdk', 'mp']);
  await sleep(500);
  const second = await scrape(url, ['dpdk', 'mp']);
  expect(second.types.get('mp_recovery_duration_seconds')).toBe('histogram');
  for (const p of [0, 1]) {
    for (const name of ['dpdk_port_rx_packets_total', 'dpdk_port_tx_packets_total', 'mp_port_rx_packets_total', 'mp_port_tx_packets_total']) {
      expect(second.value(name, { port: p })).toBeGreaterThan(first.value(name, { port: p }) ?? Infinity);
    }
  }
  for (const slave of ['slave0', 'slave1']) {
    expect(second.value('mp_slave_rx_packets_total', { slave })).toBeGreaterThan(first.value('mp_slave_rx_packets_total', { slave }) ?? Infinity);
    expect(second.value('mp_slave_up', { slave })).toBe(1);
    expect(second.value('mp_slave_restarts_total', { slave })).toBe(0);
  }
  expect(second.value('mp_pool_size', { pool: 'ms_pool_0' })).toBe(forwarding.pools[0]?.size);

  // A slave killed: one failure, one restart (its standby promoted), one recovery time.
  const pid = forwarding.slaves.find((s) => s.name === 'slave0')?.pid as number;
  process.kill(pid, 'SIGKILL');
  const recovered = await waitEvent(master, (e) => e.event === 'recovered');
  const after = await scrape(url);
  expect(after.value('mp_slave_failures_total', { slave: 'slave0', reason: 'crashed' })).toBe(1);
  expect(after.value('mp_slave_restarts_total', { slave: 'slave0' })).toBe(1);
  expect(after.value('mp_recovery_duration_seconds_count', { slave: 'slave0' })).toBe(1);
  expect(after.value('mp_recovery_duration_seconds_sum', { slave: 'slave0' })).toBeCloseTo((recovered.downtimeMs as number) / 1000, 3);
  expect(after.value('mp_recovery_duration_seconds_bucket', { slave: 'slave0', le: '+Inf' })).toBe(1);

  // A second master on the same metrics port is refused before any slave starts, and leaves nothing.
  const otherPrefix = uniquePrefix('ms-metrics');
  const other = l2fwd(otherPrefix, ['-T', '0', '--metrics-port', String(port)]);
  expect((await other.waitForExit(30_000)).code).toBe(EXIT.environment);
  expect(other.stderr).toContain(`metrics: cannot listen on 127.0.0.1:${port}: port ${port} on 127.0.0.1 is in use by another process`);
  expect(other.stdout).not.toMatch(/slave\(s\)/);
  expect(leftovers(otherPrefix)).toEqual([]);
  // A bad value is a usage error.
  const badPrefix = uniquePrefix('ms-metrics');
  const bad = l2fwd(badPrefix, ['--metrics-port', '70000']);
  expect((await bad.waitForExit(30_000)).code).toBe(2);
  expect(bad.stderr).toMatch(/the metrics port is 1-65535; e\.g\. --metrics-port 9464\nusage: mp-l2fwd/);
  expect(leftovers(badPrefix)).toEqual([]);

  master.kill('SIGINT');
  await waitEvent(master, (e) => e.event === 'shutdown');
  expect(await master.waitForExit()).toEqual({ code: 0, signal: null });
  await expect(fetch(url)).rejects.toThrow();
});

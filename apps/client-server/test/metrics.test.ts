/**
 * mp-server's live rates and Prometheus endpoint, on net_null ports (an
 * endless source) with two TS clients forwarding: the endpoint answers in
 * Prometheus' text format with the counters moving between two scrapes, the
 * JSON stats lines carry rates that agree with their counters,
 * dpdk-telemetry.py still reads the telemetry commands, a second server on
 * the same metrics port is refused with the fix named and leaves nothing,
 * and shutdown closes the endpoint and leaves nothing.
 */
import { execFileSync } from 'node:child_process';
import { assertCleanTeardown, freeTcpPort, leftovers, requireHugepages, scrape, uniquePrefix } from '@mp/test-kit';
import { EXIT } from '@mp/dpdk-core/cli';
import { poolSize } from '../src/shared';
import type { StatsSnapshot } from '../src/stats';
import { clientEal, serverEal, sleep, statsUntil, tsClient, tsServer } from './helpers';

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

/** A JSON stats line: the snapshot with its rates, and when it was printed. */
type Rated = StatsSnapshot & { time: number };

const statsLines = (lines: readonly string[]): Rated[] => lines.filter((l) => l.startsWith('stats ')).map((l) => JSON.parse(l.slice('stats '.length)) as Rated);

it('serves metrics with moving port counters, rates in the JSON stats, a port in use refused, nothing left behind', async () => {
  const prefix = uniquePrefix('cs-metrics');
  const port = await freeTcpPort();
  const url = `http://127.0.0.1:${port}/metrics`;
  const server = tsServer('server', [
    ...serverEal(prefix, ['net_null0', 'net_null1'], ['--lcores=1@0']),
    '--',
    ...['-p', '3', '-n', '2', '--stats-interval', '0.5', '--stats-format', 'json', '--metrics-port', String(port)],
  ]);
  await server.waitForLine(/Finished Process Init/);
  expect(server.stdout).toContain(`Serving Prometheus metrics at ${url}`);
  const clients = [0, 1].map((c) => tsClient(`client${c}`, [...clientEal(prefix, 2 + c), '--', '-n', String(c)]));
  await Promise.all(clients.map((c) => c.waitForLine(/handling packets/)));

  // Rates: none in the first line; once both clients forward, positive and equal to what moved between two lines.
  const forwarding = await statsUntil(server, (s) => (s as Rated).clients.every((c) => (c.rates?.txPps ?? 0) > 0));
  const lines = statsLines(server.stdoutLines);
  expect(lines[0]?.ports.every((p) => p.rates === undefined)).toBe(true);
  const at = lines.findIndex((l) => l.time === (forwarding as Rated).time);
  const [before, after] = [lines[at - 1] as Rated, lines[at] as Rated];
  const seconds = (after.time - before.time) / 1000;
  for (const [i, p] of after.ports.entries()) {
    expect(p.rates?.rxPps).toBeGreaterThan(0);
    expect(p.rates?.txPps).toBeGreaterThan(0);
    // net_null counts no bytes: its bit rates are 0.
    expect(p.rates).toMatchObject({ rxBps: 0, txBps: 0, txDropPps: 0 });
    const moved = (p.rx - (before.ports[i]?.rx ?? NaN)) / seconds;
    expect(p.rates?.rxPps).toBeGreaterThan(moved * 0.8);
    expect(p.rates?.rxPps).toBeLessThan(moved * 1.25);
  }
  for (const c of after.clients) expect(c.rates?.rxPps).toBeGreaterThan(0);

  // Two scrapes: Prometheus' text format, port and client counters moving.
  const first = await scrape(url, ['dpdk', 'mp']);
  await sleep(500);
  const second = await scrape(url, ['dpdk', 'mp']);
  for (const p of [0, 1]) {
    for (const name of ['dpdk_port_rx_packets_total', 'dpdk_port_tx_packets_total']) {
      expect(second.value(name, { port: p })).toBeGreaterThan(first.value(name, { port: p }) ?? Infinity);
    }
    expect(second.value('dpdk_port_link_up', { port: p })).toBe(1);
  }
  // Client 0 takes packets of both ports and sends each on the other.
  for (const p of [0, 1]) {
    expect(second.value('mp_client_tx_packets_total', { client: 0, port: p })).toBeGreaterThan(first.value('mp_client_tx_packets_total', { client: 0, port: p }) ?? Infinity);
  }
  for (const c of [0, 1]) {
    expect(second.value('mp_client_rx_packets_total', { client: c })).toBeGreaterThan(first.value('mp_client_rx_packets_total', { client: c }) ?? Infinity);
    expect(second.value('mp_ring_capacity', { ring: `MProc_Client_${c}_RX` })).toBe(127);
    expect(second.value('mp_ring_entries', { ring: `MProc_Client_${c}_RX` })).toBeLessThanOrEqual(127);
    expect(second.value('mp_client_repairs_total', { client: c })).toBe(0);
  }
  const pool = { pool: 'MProc_pktmbuf_pool' };
  expect(second.value('mp_pool_size', pool)).toBe(poolSize(2, 2));
  // Read one after the other while the clients forward: each within the pool, not summing exactly to its size.
  for (const name of ['mp_pool_available', 'mp_pool_in_use']) {
    expect(second.value(name, pool)).toBeGreaterThanOrEqual(0);
    expect(second.value(name, pool)).toBeLessThanOrEqual(poolSize(2, 2));
  }

  // DPDK's own tool still reads the telemetry commands beside the endpoint.
  const reply = execFileSync('python3', ['/usr/bin/dpdk-telemetry.py', '-f', prefix], { input: '/mp/ports\n', encoding: 'utf8' });
  expect(JSON.parse(reply.trim())).toMatchObject({ '/mp/ports': { ports: 2, id: [0, 1] } });

  // A second server on the same metrics port: refused with the fix, nothing left; the first one goes on.
  const other = uniquePrefix('cs-metrics');
  const refused = tsServer('refused', [...serverEal(other, ['net_null0', 'net_null1'], ['--lcores=1@1']), '--', '-p', '3', '-n', '1', '--metrics-port', String(port)]);
  expect(await refused.waitForExit(30_000)).toEqual({ code: EXIT.environment, signal: null });
  expect(refused.stderr).toContain(
    `mp-server: metrics: cannot listen on 127.0.0.1:${port}: port ${port} on 127.0.0.1 is in use by another process (ss -ltnp 'sport = :${port}' shows which); choose a free one with --metrics-port`,
  );
  expect(leftovers(other)).toEqual([]);
  const third = await scrape(url);
  expect(third.value('dpdk_port_rx_packets_total', { port: 0 })).toBeGreaterThan(second.value('dpdk_port_rx_packets_total', { port: 0 }) ?? Infinity);

  server.kill('SIGINT');
  const codes = await Promise.all([server, ...clients].map((p) => p.waitForExit(15_000)));
  expect(codes).toEqual([0, 0, 0].map(() => ({ code: 0, signal: null })));
  await expect(fetch(url)).rejects.toThrow();
});

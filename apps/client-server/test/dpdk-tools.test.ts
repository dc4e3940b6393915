/**
 * DPDK's own tools against the TS server under traffic, as shipped in
 * Debian's dpdk-dev: the stock dpdk-telemetry.py reads /mp/clients and
 * /mp/ports, and dpdk-proc-info attaches as a secondary, shows the rings, the
 * pool and the port counters, and leaves without disturbing the forwarding
 * or the server's shutdown.
 *
 * The ports are net_null (an endless source, as in the main job), so the
 * counters never settle: each figure a tool prints must lie between the
 * server's stats line before the tool ran and the one after. (On net_pcap
 * ports dpdk-proc-info 22.11 segfaults in its own rte_eal_cleanup, in
 * net_pcap's remove, against the C server as well.)
 */
import fs from 'node:fs';
import { assertCleanTeardown, requireHugepages, startProcess, uniquePrefix } from '@mp/test-kit';
import { poolSize } from '../src/shared';
import { clientEal, nextStats, serverEal, sleep, statsUntil, tsClient, tsServer, type StatsLine } from './helpers';

const TELEMETRY_PY = '/usr/bin/dpdk-telemetry.py';
const PROC_INFO = '/usr/bin/dpdk-proc-info';

function requireTool(file: string): void {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: it comes with Debian's dpdk-dev package (scripts/setup.sh installs it; or apt-get install dpdk-dev)`);
}

beforeAll(() => {
  requireHugepages();
  requireTool(TELEMETRY_PY);
  requireTool(PROC_INFO);
});

afterAll(async () => {
  await assertCleanTeardown();
});

/** dpdk-telemetry.py reads commands on stdin and prints one JSON reply per line. */
async function telemetryPy(prefix: string, commands: readonly string[]): Promise<Record<string, unknown>> {
  const tool = startProcess('dpdk-telemetry.py', 'python3', [TELEMETRY_PY, '-f', prefix]);
  tool.child.stdin?.end(commands.map((c) => `${c}\n`).join(''));
  const status = await tool.waitForExit(20_000);
  expect(status).toEqual({ code: 0, signal: null });
  const replies: Record<string, unknown> = {};
  for (const line of tool.stdoutLines) {
    // It reports a failed connection on stdout and still exits 0.
    if (!line.startsWith('{')) throw new Error(`dpdk-telemetry.py printed something other than a reply:\n${tool.describe()}`);
    Object.assign(replies, JSON.parse(line));
  }
  return replies;
}

/** dpdk-proc-info prepends `-c1 -n4 --proc-type=secondary` itself and refuses -l/--lcores, so it always runs on lcore 0. */
async function procInfo(prefix: string): Promise<string> {
  const tool = startProcess('dpdk-proc-info', PROC_INFO, [`--file-prefix=${prefix}`, '--proc-type=secondary', '--no-pci', '--log-level=warning', '--', '--show-ring', '--show-mempool', '--stats']);
  const status = await tool.waitForExit(30_000);
  if (status.code !== 0 || status.signal !== null) throw new Error(`dpdk-proc-info failed (${JSON.stringify(status)})\n${tool.describe()}`);
  return tool.stdoutLines.join('\n');
}

/** The first number proc-info prints for `label` in the block that starts with `header`. */
function field(text: string, header: string, label: string): number {
  const at = text.indexOf(header);
  const m = at < 0 ? null : new RegExp(`\\b${label}(?::\\s*|=)(\\d+)`).exec(text.slice(at));
  if (!m) throw new Error(`no '${label}' after '${header}' in dpdk-proc-info's output:\n${text.slice(0, 3000)}`);
  return Number(m[1]);
}

function between(value: unknown, low: number, high: number, what: string): void {
  if (typeof value !== 'number' || value < low || value > high) throw new Error(`${what}: ${String(value)} is not within [${low}, ${high}], the server's own counts before and after`);
}

const clientTotals = (s: StatsLine): Array<Record<string, number>> => s.clients.map((c) => ({ rx: c.rx, rx_drop: c.rxDrop, tx: c.tx, tx_drop: c.txDrop }));

it('dpdk-telemetry.py and dpdk-proc-info read the running server; it keeps forwarding and shuts down clean', async () => {
  const prefix = uniquePrefix('cs-tools');
  // The server off lcore 0, which dpdk-proc-info always takes.
  const server = tsServer('server', [...serverEal(prefix, ['net_null0', 'net_null1'], ['--lcores=1@0']), '--', '-p', '3', '-n', '2', '--stats-interval', '0.2', '--stats-format', 'json']);
  await server.waitForLine(/Finished Process Init/);
  const clients = [0, 1].map((c) => tsClient(`client${c}`, [...clientEal(prefix, 2 + c), '--', '-n', String(c)]));
  await Promise.all(clients.map((c) => c.waitForLine(/handling packets/)));
  const before = await statsUntil(server, (s) => s.clients.every((c) => c.tx > 0));

  // Telemetry snapshots are refreshed every second: wait so the one served was taken after `before`.
  await sleep(2100);
  const replies = await telemetryPy(prefix, ['/', '/mp/clients', '/mp/ports']);
  const after = await nextStats(server);
  expect(replies['/']).toEqual(expect.arrayContaining(['/mp/clients', '/mp/ports']));
  const tc = replies['/mp/clients'] as Record<string, unknown[]>;
  expect(tc).toMatchObject({ clients: 2, pid: clients.map((c) => c.pid), repairs: [0, 0] });
  for (const key of ['rx', 'rx_drop', 'tx', 'tx_drop']) {
    for (const c of [0, 1]) between(tc[key]?.[c], clientTotals(before)[c]?.[key] ?? NaN, clientTotals(after)[c]?.[key] ?? NaN, `/mp/clients ${key}[${c}]`);
  }
  const tp = replies['/mp/ports'] as Record<string, unknown[]>;
  expect(tp).toMatchObject({ ports: 2, id: [0, 1], mac: after.ports.map((p) => p.mac), tx_drop: [0, 0] });
  for (const p of [0, 1]) {
    between(tp.rx?.[p], before.ports[p]?.rx ?? NaN, after.ports[p]?.rx ?? NaN, `/mp/ports rx[${p}]`);
    between(tp.tx?.[p], before.ports[p]?.tx ?? NaN, after.ports[p]?.tx ?? NaN, `/mp/ports tx[${p}]`);
  }

  // proc-info attaches while the traffic flows.
  const s0 = await nextStats(server);
  const info = await procInfo(prefix);
  await sleep(500);
  const s1 = await nextStats(server);
  for (const c of [0, 1]) expect(field(info, `ring <MProc_Client_${c}_RX>`, 'size')).toBe(128);
  expect(field(info, 'mempool <MProc_pktmbuf_pool>', 'size')).toBe(poolSize(2, 2));
  for (const p of [0, 1]) {
    const nic = `NIC statistics for port ${p} `;
    between(field(info, nic, 'RX-packets'), s0.ports[p]?.rx ?? NaN, s1.ports[p]?.rx ?? NaN, `proc-info port ${p} RX-packets`);
    between(field(info, nic, 'TX-packets'), s0.ports[p]?.tx ?? NaN, s1.ports[p]?.tx ?? NaN, `proc-info port ${p} TX-packets`);
  }

  // The server and both clients go on forwarding.
  const later = await statsUntil(server, (s) => s.clients.every((c, i) => c.tx > (s1.clients[i]?.tx ?? Infinity)));
  expect(later.clients.map((c) => c.txDrop)).toEqual([0, 0]);
  expect(clients.map((c) => c.exitStatus)).toEqual([undefined, undefined]);

  server.kill('SIGINT');
  const codes = await Promise.all([server, ...clients].map((p) => p.waitForExit(15_000)));
  expect(codes).toEqual([0, 0, 0].map(() => ({ code: 0, signal: null })));
  // proc-info left no IPC socket behind, so the server found no secondary it could not ask to stop.
  expect(server.stderrLines.join('\n')).not.toMatch(/secondaries still attached/);
});

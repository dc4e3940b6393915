/**
 * dpdk-mp status against real groups: the main job (TS server and two
 * clients on the demo's lcore ids), the C client_server_mp pair, and prefixes
 * with no primary. Attaching must not disturb the group: it keeps
 * forwarding, and at shutdown the server finds no secondary left behind.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { assertCleanTeardown, leftovers, requireHugepages, startProcess, uniquePrefix, type Fixture } from '@mp/test-kit';
import { dpdkMp, primary } from './helpers';
import type { GroupStatus, PrefixSummary } from '../src/status';

const CS = path.join(__dirname, '..', '..', 'client-server');
const DEMO = path.join(CS, 'dist', 'demo.js');

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

async function groups(): Promise<PrefixSummary[]> {
  const r = await dpdkMp(['status', '--json']);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { groups: PrefixSummary[] }).groups;
}

/** Waits until the group has `n` live secondaries, by listing (no attach). */
async function secondaries(prefix: string, n: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const g = (await groups()).find((x) => x.prefix === prefix);
    if (g !== undefined && g.liveSecondaries.length === n) return;
    if (Date.now() > deadline) throw new Error(`${prefix} never had ${n} live secondaries: ${JSON.stringify(g)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function status(prefix: string): Promise<GroupStatus> {
  const r = await dpdkMp(['status', '--file-prefix', prefix, '--json']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(r.stdout) as GroupStatus;
}

it("shows the main job: its server, both clients with the demo's lcore ids, ports moving, rings, the pool and memzones; the group goes on undisturbed", async () => {
  const demo = startProcess('demo', process.execPath, [DEMO, '--duration', '120']);
  const prefix = `mp-demo-${demo.pid}`;
  try {
    await secondaries(prefix, 2);
    const s = await status(prefix);
    // The demo runs no EAL: the primary is its server, a child of its own.
    const server = s.primary?.pid ?? 0;
    const stat = fs.readFileSync(`/proc/${server}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])).toBe(demo.pid);
    expect(s.primary).toMatchObject({ role: 'primary', alive: true, lcores: [1], lcoresFrom: 'argv' });
    const clients = s.secondaries.map((c) => c.pid).sort();
    expect(clients).toHaveLength(2);
    // The demo gives the clients lcore ids 2 and 3 (no leases), none shares one, and lcore 0 stays free for DPDK's tools.
    expect(s.secondaries.map((c) => c.lcores).sort()).toEqual([[2], [3]]);
    expect(s.leases).toEqual([]);
    expect(s.lcores.every((l) => l.pids.length === 1 && l.id !== 0)).toBe(true);
    expect(s.ports.map((p) => p.name)).toEqual(['net_null0', 'net_null1']);
    for (const p of s.ports) {
      expect(p.link.up).toBe(true);
      expect(p.rxPps).toBeGreaterThan(0);
      expect(p.txPps).toBeGreaterThan(0);
    }
    expect(s.rings.filter((r) => /^MProc_Client_\d_RX$/.test(r.name)).map((r) => [r.name, r.size])).toEqual([
      ['MProc_Client_0_RX', 128],
      ['MProc_Client_1_RX', 128],
    ]);
    const pool = s.pools.find((p) => p.name === 'MProc_pktmbuf_pool');
    expect(pool).toMatchObject({ size: 7936, cacheSize: 512, ops: 'ring_mp_mc' });
    expect((pool?.available ?? 0) + (pool?.inUse ?? 0)).toBe(7936);
    expect(s.memzones.map((m) => m.name)).toEqual(expect.arrayContaining(['MProc_port_info', 'MProc_ts_control']));

    const text = await dpdkMp(['status', '--file-prefix', prefix, '--interval', '300']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^  ${server} +primary \\(alive\\) +1 +node mp-server --lcores=1@0 `, 'm'));
    for (const pid of clients) expect(text.stdout).toMatch(new RegExp(`^  ${pid} +secondary +\\d+ +node mp-client --lcores=`, 'm'));
    expect(text.stdout).toMatch(/^  MProc_pktmbuf_pool +7936 /m);

    // Still both clients, and only them: dpdk-mp left nothing attached.
    expect((await groups()).find((g) => g.prefix === prefix)?.liveSecondaries.sort()).toEqual(clients);
  } finally {
    demo.kill('SIGINT');
  }
  expect(await demo.waitForExit(30_000)).toEqual({ code: 0, signal: null });
  expect(demo.stderr).not.toMatch(/secondaries still attached|exited \(/);
  expect(leftovers(prefix)).toEqual([]);
});

it("shows the C sample's server and client (a group with no Node process in it)", async () => {
  execFileSync('bash', [path.join(CS, 'scripts', 'build-c.sh')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const prefix = uniquePrefix('mp-status-c');
  // A C primary must map where a Node secondary can (see the README).
  const server = startProcess('c-server', 'stdbuf', [
    '-oL',
    path.join(CS, '.build', 'mp_server'),
    `--file-prefix=${prefix}`,
    '-m',
    '64',
    '--no-pci',
    '-l',
    '1',
    '--base-virtaddr=0x600000000000',
    '--vdev=net_null0',
    '--vdev=net_null1',
    '--',
    '-p',
    '3',
    '-n',
    '1',
  ]);
  let client: Fixture | undefined;
  try {
    await server.waitForLine(/Finished Process Init/, 20_000, { stream: 'stderr' });
    client = startProcess('c-client', 'stdbuf', ['-oL', path.join(CS, '.build', 'mp_client'), `--file-prefix=${prefix}`, '--no-pci', '--lcores=2@1', '--proc-type=secondary', '--', '-n', '0']);
    await client.waitForLine(/handling packets/, 20_000);
    const s = await status(prefix);
    expect(s.primary).toMatchObject({ pid: server.pid, lcores: [1] });
    expect(s.secondaries.map((c) => [c.pid, c.lcores])).toEqual([[client.pid, [2]]]);
    expect(s.leases).toEqual([]);
    expect(s.rings.map((r) => r.name)).toContain('MProc_Client_0_RX');
    expect(s.pools.map((p) => p.name)).toEqual(['MProc_pktmbuf_pool']);
    expect(s.ports.every((p) => p.rxPps > 0)).toBe(true);
  } finally {
    client?.kill('SIGINT');
    server.kill('SIGINT');
  }
  await Promise.all([client?.waitForExit(), server.waitForExit()]);
  // The C server exits without rte_eal_cleanup (dpdk-facts.md): what it leaves is what `clean` is for.
  const cleaned = await dpdkMp(['clean', '--file-prefix', prefix]);
  expect(cleaned.code).toBe(0);
  expect(leftovers(prefix)).toEqual([]);
});

it('refuses a prefix with no live primary, saying what to do', async () => {
  const never = uniquePrefix('mp-status-none');
  const none = await dpdkMp(['status', '--file-prefix', never]);
  expect(none.code).toBe(3);
  expect(none.stderr).toMatch(new RegExp(`^dpdk-mp: no primary process runs with --file-prefix=${never}; `));
  expect(none.stdout).toBe('');

  const dead = uniquePrefix('mp-status-dead');
  const p = await primary(dead);
  p.kill('SIGKILL');
  await p.waitForExit();
  const refused = await dpdkMp(['status', '--file-prefix', dead]);
  expect(refused.code).toBe(3);
  expect(refused.stderr).toMatch(`a dead one left files behind (remove them: dpdk-mp clean --file-prefix ${dead})`);
  expect((await groups()).find((g) => g.prefix === dead)).toMatchObject({ primaryPid: null, liveSecondaries: [], runtimeDir: `/var/run/dpdk/${dead}` });
  expect((await dpdkMp(['clean', '--file-prefix', dead])).code).toBe(0);
});

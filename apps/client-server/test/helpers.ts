/**
 * Test plumbing for the client-server suites: real processes (the TS bins and
 * the C sample built from dpdk-doc) and the suites' veth pairs under net_pcap
 * (test-kit's Veths; traffic through test-kit's exchange). Every process is a
 * test-kit Fixture (tracked by PID, checked by assertCleanTeardown); every
 * veth is deleted.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Veths, assertCleanTeardown, ealArgs, requireHugepages, startProcess, vethTag, type Fixture } from '@mp/test-kit';

export const APP = path.join(__dirname, '..');
export const BIN = {
  server: path.join(APP, 'bin', 'mp-server'),
  client: path.join(APP, 'bin', 'mp-client'),
  cServer: path.join(APP, '.build', 'mp_server'),
  cClient: path.join(APP, '.build', 'mp_client'),
};
const TELEMETRY = path.join(APP, 'tools', 'telemetry.py');

export function tsServer(label: string, args: readonly string[]): Fixture {
  return startProcess(label, process.execPath, [BIN.server, ...args]);
}

export function tsClient(label: string, args: readonly string[]): Fixture {
  return startProcess(label, process.execPath, [BIN.client, ...args]);
}

/** The C binaries print with stdio: line-buffer it so their lines arrive as they are printed. */
export function cServer(label: string, args: readonly string[]): Fixture {
  return startProcess(label, 'stdbuf', ['-oL', BIN.cServer, ...args]);
}

export function cClient(label: string, args: readonly string[]): Fixture {
  return startProcess(label, 'stdbuf', ['-oL', BIN.cClient, ...args]);
}

/** Builds the C sample (idempotent), failing with the reason if it cannot. */
export function buildC(): void {
  execFileSync('bash', [path.join(APP, 'scripts', 'build-c.sh')], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** EAL args of a group member: the server's vdevs go to the server only. */
export function serverEal(prefix: string, vdevs: readonly string[], extra: readonly string[] = ['-l', '0']): string[] {
  return [...ealArgs(prefix), ...extra, ...vdevs.map((v) => `--vdev=${v}`)];
}

export function clientEal(prefix: string, lcore: number, cpu = 1): string[] {
  return [`--file-prefix=${prefix}`, '--no-pci', '--log-level=warning', `--lcores=${lcore}@${cpu}`, '--proc-type=secondary'];
}

export interface StatsLine {
  ports: Array<{ id: number; mac: string; rx: number; tx: number; txDrop: number }>;
  clients: Array<{ id: number; rx: number; rxDrop: number; tx: number; txDrop: number }>;
}

/** The latest `stats {...}` line a TS server printed after line `from`, waiting for one if needed. */
export async function nextStats(server: Fixture, timeoutMs = 10_000): Promise<StatsLine> {
  const m = await server.waitForLine(/^stats (.*)$/, timeoutMs, { from: server.stdoutLines.length });
  return JSON.parse(m[1] as string) as StatsLine;
}

/** Waits until `check` holds for a stats line of the server. */
export async function statsUntil(server: Fixture, check: (s: StatsLine) => boolean, timeoutMs = 15_000): Promise<StatsLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await nextStats(server, Math.max(1, deadline - Date.now()));
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error(`stats never satisfied the check; last: ${JSON.stringify(s)}`);
  }
}

/**
 * The veth pairs of a suite (2 ports x 2 queues, one TX interface per client):
 * created before its tests (after `setup`), deleted after its teardown check.
 */
export function suiteVeths(n: number, setup: () => void = () => undefined): Veths {
  const veths = new Veths('cs', vethTag(n), 2, 2);
  beforeAll(() => {
    requireHugepages();
    setup();
    veths.create();
  });
  afterAll(async () => {
    try {
      await assertCleanTeardown();
    } finally {
      veths.destroy();
    }
  });
  return veths;
}

/** Asks the primary of `prefix` a telemetry command, as dpdk-telemetry.py would. */
export function telemetry(prefix: string, command: string): Record<string, unknown> {
  const out = execFileSync('python3', [TELEMETRY, path.join('/var/run/dpdk', prefix, 'dpdk_telemetry.v2'), command], { encoding: 'utf8' });
  return (JSON.parse(out.trim()) as Record<string, Record<string, unknown>>)[command] ?? {};
}

/** A TS client's tx counter, from the next `stats {json}` line it prints (it needs --stats-interval). */
export async function clientTx(client: Fixture): Promise<number> {
  const m = await client.waitForLine(/^stats (.*)$/, 10_000, { from: client.stdoutLines.length });
  return (JSON.parse(m[1] as string) as { tx: number }).tx;
}

/** Waits until the client's tx counter moves: it is forwarding. */
export async function forwarding(client: Fixture, timeoutMs = 15_000): Promise<void> {
  const first = await clientTx(client);
  const deadline = Date.now() + timeoutMs;
  while ((await clientTx(client)) <= first) {
    if (Date.now() > deadline) throw new Error(`${client.label} did not forward for ${timeoutMs} ms (tx stuck at ${first})`);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The server's one-owner audit of its pool at shutdown, once every client has stopped. */
export function poolAudit(server: Fixture): { size: number; twice: number; lost: number } {
  const m = server.stdoutLines.map((l) => /^pool audit: (\d+) buffers, (\d+) listed twice, (\d+) lost with killed clients$/.exec(l)).find((x) => x);
  if (!m) throw new Error(`no pool audit line:\n${server.describe()}`);
  return { size: Number(m[1]), twice: Number(m[2]), lost: Number(m[3]) };
}

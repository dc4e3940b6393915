/**
 * The fault suite's short form (`pnpm faults --rounds 2`): every fault of
 * both apps and every bad command line, injected for real. Nothing is
 * freed twice, no error is unclear, every fault is recovered from except
 * those RELIABILITY.md documents as not yet recoverable, and nothing leaks
 * beyond what the documented not-yet-leak-free kills report discarding.
 */
import fs from 'node:fs';
import path from 'node:path';
import { assertCleanTeardown, requireHugepages, startFixture } from '@mp/test-kit';
import type { FaultRow } from '../suite/fault';
import { problems } from '../suite/report';

const MAIN = path.join(__dirname, '..', 'suite', 'main.ts');

beforeAll(() => requireHugepages());

afterAll(async () => {
  await assertCleanTeardown();
});

/** The failpoints dpdk-core offers (PacketVector.armFailpoint's names). */
function failpoints(): string[] {
  const src = fs.readFileSync(path.join(__dirname, '..', '..', 'dpdk-core', 'src', 'vector.ts'), 'utf8');
  const union = /export type PacketVectorFailpoint = ([^;]+);/.exec(src)?.[1] ?? '';
  return [...union.matchAll(/'([^']+)'/g)].map((m) => m[1] as string);
}

it('injects every fault in both apps; recovers, frees nothing twice, says every error clearly', async () => {
  const run = startFixture(MAIN, ['--rounds', '2', '--seconds', '300', '--report', 'none', '--json']);
  const status = await run.waitForExit(900_000);
  const line = run.stdoutLines.find((l) => l.startsWith('FAULTS '));
  if (line === undefined) throw new Error(`no FAULTS line (exit ${JSON.stringify(status)})\n${run.describe(80)}`);
  const { rows, leftBehind } = JSON.parse(line.slice('FAULTS '.length)) as { rows: FaultRow[]; leftBehind: string };
  const byName = (app: string, fault: string): FaultRow | undefined => rows.find((r) => r.app === app && r.fault === fault);

  // Every kind of fault ran, in both apps where it applies.
  const points = failpoints();
  expect(points.length).toBeGreaterThan(0);
  for (const p of points) {
    expect(byName('client-server', `client killed at failpoint ${p}`)?.injected).toBeGreaterThan(0);
    // A ring peek happens only in a vector reading a ring: clients do, slaves read ports.
    if (p !== 'kill-in-peek') expect(byName('master-slave', `slave killed at failpoint ${p}`)?.injected).toBeGreaterThan(0);
  }
  for (const app of ['client-server', 'master-slave']) {
    for (const fault of ['primary SIGKILL', 'pool exhaustion (a secondary takes every free buffer)', 'malformed and truncated frames (net_pcap rx_pcap)', 'second primary, same --file-prefix']) {
      expect(byName(app, fault)?.injected).toBeGreaterThan(0);
    }
  }
  for (const fault of ['client SIGKILL at random moments', 'client SIGSTOP+SIGCONT at random moments (its ring overflows)', 'ring overflow: every client stopped at once', "second client with a live client's id"]) {
    expect(byName('client-server', fault)?.injected).toBeGreaterThan(0);
  }
  for (const fault of ['slave SIGKILL at random moments', 'slave SIGSTOP+SIGCONT at random moments']) expect(byName('master-slave', fault)?.injected).toBeGreaterThan(0);
  for (const app of ['mp-server', 'mp-client', 'mp-l2fwd', 'dpdk-mp']) expect(byName(app, 'bad command lines')?.injected).toBeGreaterThan(5);

  // What the suite promises, row by row, with the row's notes when it fails.
  expect(rows.filter((r) => (r.freedTwice ?? 0) !== 0 || r.unclear !== 0)).toEqual([]);
  expect(rows.filter((r) => r.recovered !== r.injected)).toEqual([]);
  expect(rows.map((r) => ({ fault: `${r.app}: ${r.fault}`, problems: problems(r) })).filter((p) => p.problems.length > 0)).toEqual([]);
  expect(leftBehind).toBe('');
  expect(status).toEqual({ code: 0, signal: null });
}, 1_000_000);

/**
 * Correctness on net_tap ports: frames injected on the kernel side of one
 * tap come out of the other, MACs rewritten exactly as l2fwd does, in both
 * directions; with --no-mac-updating they come out untouched.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { assertCleanTeardown, ealArgs, requireHugepages, startFixture, uniquePrefix, type Fixture } from '@mp/test-kit';

const MAIN = path.join(__dirname, '..', 'dist', 'main.js');
const TAP_IO = path.join(__dirname, 'fixtures', 'tap_io.py');
const COUNT = 200;

beforeAll(() => {
  requireHugepages();
  if (process.getuid?.() !== 0) throw new Error('net_tap needs root (it creates kernel interfaces); run the tests as root');
});

afterAll(async () => {
  await assertCleanTeardown();
});

async function started(f: Fixture): Promise<{ ports: Array<{ id: number; mac: string }> }> {
  const m = await f.waitForLine(/^(\{"event":"started".*)$/);
  return JSON.parse(m[1] as string) as { ports: Array<{ id: number; mac: string }> };
}

function inject(a: string, b: string): { sent: number; a_to_b: Array<[string, string, number, number]>; b_to_a: Array<[string, string, number, number]> } {
  const r = spawnSync('python3', [TAP_IO, a, b, String(COUNT)], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`tap_io.py failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function run(macUpdating: boolean): Promise<void> {
  const tag = `${process.pid % 10000}${macUpdating ? 'm' : 'n'}`;
  const [a, b] = [`mst${tag}a`, `mst${tag}b`];
  const l2 = startFixture(MAIN, [
    ...ealArgs(uniquePrefix('mstap'), ['--lcores=0@0,1@0,2@1', `--vdev=net_tap0,iface=${a}`, `--vdev=net_tap1,iface=${b}`]),
    '--',
    '-p',
    '3',
    '-T',
    '0',
    '--json',
    ...(macUpdating ? [] : ['--no-mac-updating']),
  ]);
  const { ports } = await started(l2);
  await l2.waitForLine(/"event":"ready".*"name":"slave1"/);
  const r = inject(a, b);
  l2.kill('SIGINT');
  expect(await l2.waitForExit()).toEqual({ code: 0, signal: null });
  const seqs = (rows: Array<[string, string, number, number]>): number[] => rows.map((x) => x[3]).sort((x, y) => x - y);
  const all = Array.from({ length: COUNT }, (_, i) => i);
  expect(seqs(r.a_to_b)).toEqual(all);
  expect(seqs(r.b_to_a)).toEqual(all);
  const mac0 = ports.find((p) => p.id === 0)?.mac.toLowerCase();
  const mac1 = ports.find((p) => p.id === 1)?.mac.toLowerCase();
  const expectAB = macUpdating ? ['02:00:00:00:00:01', mac1] : ['02:11:22:33:44:55', '02:66:77:88:99:00'];
  const expectBA = macUpdating ? ['02:00:00:00:00:00', mac0] : ['02:11:22:33:44:55', '02:66:77:88:99:01'];
  expect(new Set(r.a_to_b.map((x) => `${x[0]} ${x[1]}`))).toEqual(new Set([expectAB.join(' ')]));
  expect(new Set(r.b_to_a.map((x) => `${x[0]} ${x[1]}`))).toEqual(new Set([expectBA.join(' ')]));
}

test('every frame injected on the kernel side of tap 0 comes out of tap 1 and back, MACs rewritten as l2fwd does', async () => {
  await run(true);
});

test('--no-mac-updating forwards the frames untouched', async () => {
  await run(false);
});

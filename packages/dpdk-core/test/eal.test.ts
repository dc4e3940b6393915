/**
 * EAL in real processes: a primary and secondaries with a unique --file-prefix
 * each, sharing a memzone; telemetry commands a primary registers.
 */
import path from 'node:path';
import { assertCleanTeardown, ealArgs, requireHugepages, runFixture, startFixture, uniquePrefix, leftovers } from '@mp/test-kit';

const FIXTURE = path.join(__dirname, 'fixtures', 'eal-process.ts');

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

function primaryArgs(prefix: string, name: string): string[] {
  return [...ealArgs(prefix, ['-l', '0', '--vdev=net_null0']), '--', 'primary', name];
}

function secondaryArgs(prefix: string, lcore: number, ...rest: string[]): string[] {
  return [...ealArgs(prefix, ['-l', String(lcore), '--proc-type=secondary']), '--', 'secondary', ...rest];
}

interface PrimaryReady {
  processType: string;
  lcores: Array<{ id: number; main: boolean }>;
  mainLcore: number;
  version: string;
  memory: { hugepageBytes: number; pageSize: number };
  zones: string[];
  alive: boolean;
}

test('a primary initialises and reports its process, lcores and memory; cleanup leaves nothing', async () => {
  const prefix = uniquePrefix('eal');
  const primary = startFixture(FIXTURE, primaryArgs(prefix, 'zone-a'));
  const ready = await primary.waitForJson<PrimaryReady>('READY');
  expect(ready.processType).toBe('primary');
  expect(ready.lcores).toEqual([expect.objectContaining({ id: 0, main: true })]);
  expect(ready.mainLcore).toBe(0);
  expect(ready.version).toMatch(/^DPDK 22\.11/);
  expect(ready.memory.pageSize).toBe(2 * 1024 * 1024);
  expect(ready.memory.hugepageBytes).toBeGreaterThanOrEqual(64 * 1024 * 1024);
  expect(ready.zones).toContain('zone-a');
  expect(ready.alive).toBe(true);
  expect(leftovers(prefix).length).toBeGreaterThan(0);
  primary.send('exit');
  await primary.waitForJson('CLEANED');
  expect(await primary.waitForExit()).toEqual({ code: 0, signal: null });
  expect(leftovers(prefix)).toEqual([]);
});

test('lcores() gives the CPUs each lcore runs on as --lcores mapped them, not the core id of the CPU numbered like the lcore', async () => {
  const prefix = uniquePrefix('eal');
  const primary = startFixture(FIXTURE, [...ealArgs(prefix, ['--lcores=0@0,1@0,2@(0-1)']), '--', 'primary', 'zone-c']);
  const ready = await primary.waitForJson<{ lcores: Array<{ id: number; cpu: number; cpus: number[] }> }>('READY');
  expect(ready.lcores.map(({ id, cpu, cpus }) => ({ id, cpu, cpus }))).toEqual([
    { id: 0, cpu: 0, cpus: [0] },
    { id: 1, cpu: 0, cpus: [0] },
    { id: 2, cpu: 0, cpus: [0, 1] },
  ]);
  primary.send('exit');
  await primary.waitForJson('CLEANED');
  expect(await primary.waitForExit()).toEqual({ code: 0, signal: null });
});

test('a secondary looks up the primary\'s memzone, reads what it wrote, and the primary reads the reply', async () => {
  const prefix = uniquePrefix('eal');
  const primary = startFixture(FIXTURE, primaryArgs(prefix, 'shared'));
  await primary.waitForJson('READY');
  const secondary = await runFixture(FIXTURE, secondaryArgs(prefix, 1, 'shared', 'reply'));
  expect(secondary.code).toBe(0);
  const result = JSON.parse(/^RESULT (.*)$/m.exec(secondary.stdout)?.[1] ?? 'null');
  expect(result).toMatchObject({ processType: 'secondary', created: false, length: 4096, primaryAlive: true });
  expect(result.pattern).toEqual(Array.from({ length: 64 }, (_, i) => (i * 7 + 3) & 0xff));
  primary.send('read');
  const read = await primary.waitForJson<{ reply: number[] }>('RESULT');
  expect(read.reply).toEqual(Array.from({ length: 16 }, (_, i) => 0xa0 + i));
  primary.send('exit');
  expect((await primary.waitForExit()).code).toBe(0);
});

test('compare-exchange from two processes racing 100 000 times each loses no update', async () => {
  const prefix = uniquePrefix('eal');
  const primary = startFixture(FIXTURE, primaryArgs(prefix, 'counter'));
  await primary.waitForJson('READY');
  const times = 100_000;
  const secondary = startFixture(FIXTURE, secondaryArgs(prefix, 1, 'counter', 'race', String(times)));
  await secondary.waitForJson('STARTING');
  primary.send(`race ${times}`);
  await primary.waitForJson('RACED');
  await secondary.waitForJson('RACED');
  expect((await secondary.waitForExit()).code).toBe(0);
  primary.send('read');
  const read = await primary.waitForJson<{ counter: number }>('RESULT');
  expect(read.counter).toBe(2 * times);
  primary.send('exit');
  expect((await primary.waitForExit()).code).toBe(0);
});

test('bad inputs each give their documented code and the process keeps running', async () => {
  const prefix = uniquePrefix('eal');
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0']), '--', 'bad-inputs']);
  expect(r.code).toBe(0);
  const { results, alive } = JSON.parse(/^RESULT (.*)$/m.exec(r.stdout)?.[1] ?? 'null');
  expect(alive).toBe(true);
  const codes = Object.fromEntries(Object.entries(results as Record<string, { code: string; isDpdkError: boolean }>).map(([k, v]) => [k, v.isDpdkError ? v.code : v]));
  expect(codes).toEqual({
    'before-init': 'E_EAL_NOT_INITIALISED',
    'unknown-option': 'EINVAL',
    help: 'EINVAL',
    'log-level-help': 'EINVAL',
    'in-memory': 'EINVAL',
    'second-init': 'EALREADY',
    'long-name': 'EINVAL',
    'missing-zone': 'ENOENT',
    'duplicate-zone': 'EEXIST',
    'unaligned-atomic': 'EINVAL',
    'out-of-range-atomic': 'EINVAL',
    'use-after-free': 'E_CLOSED',
    'after-cleanup': 'E_EAL_CLOSED',
  });
  expect(results['missing-zone'].message).toMatch(/--file-prefix/);
  expect(results['long-name'].message).toMatch(/31 characters/);
});

test('a secondary with no primary gets a clear error and keeps running', async () => {
  const prefix = uniquePrefix('eal');
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '1', '--proc-type=secondary']), '--', 'init-only']);
  expect(r.code).toBe(0);
  const result = JSON.parse(/^RESULT (.*)$/m.exec(r.stdout)?.[1] ?? 'null');
  expect(result.ok).toBe(false);
  expect(result.error.isDpdkError).toBe(true);
  expect(result.error.op).toBe('initEal');
  expect(result.error.code).toBe('ENOENT');
  expect(result.error.message).toMatch(new RegExp(`no primary process is running with --file-prefix=${prefix}`));
  expect(r.stdout).toMatch(/^ALIVE \{"state":"uninitialised"\}$/m);
});

test('after EAL failed to start, calls say so and what to do, not "call initEal() first"', async () => {
  const prefix = uniquePrefix('eal');
  // CPU 1000 is on no machine this runs on: rte_eal_init fails.
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['--lcores=0@1000']), '--', 'init-only']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^RESULT \{"ok":false/m);
  const after = JSON.parse(/^AFTER (.*)$/m.exec(r.stdout)?.[1] ?? 'null') as { lookup: { code: string; message: string } };
  expect(after.lookup).toMatchObject({ code: 'E_EAL_NOT_INITIALISED', message: expect.stringMatching(/EAL failed to initialise in this process .*start a new process/) });
  expect(r.stdout).toMatch(/^ALIVE \{"state":"failed"\}$/m);
  expect(leftovers(prefix)).toEqual([]);
});

test('a primary that exits without calling cleanup() still leaves no runtime directory or hugepage files', async () => {
  const prefix = uniquePrefix('eal');
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0', '--vdev=net_null0']), '--', 'init-only']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^RESULT \{"ok":true,"processType":"primary"\}$/m);
  expect(leftovers(prefix)).toEqual([]);
});

test('a memzone view that outlives its collected handle is detached at cleanup(), not left over unmapped memory', async () => {
  const prefix = uniquePrefix('eal');
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0']), '--', 'orphan-view']);
  // Before the view held its handle, this read faulted (exit by SIGSEGV).
  expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
  expect(r.stdout).toMatch(/^RESULT \{"byteLength":0,"read":null\}$/m);
  expect(leftovers(prefix)).toEqual([]);
});

test('telemetry commands: registered once, published snapshots validated before they reach C', async () => {
  const prefix = uniquePrefix('eal');
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0']), '--', 'telemetry']);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(leftovers(prefix)).toEqual([]);
  const results = JSON.parse(/^RESULT (.*)$/m.exec(r.stdout)?.[1] ?? 'null');
  expect(results).toMatchObject({
    duplicate: { code: 'EEXIST' },
    badCommand: { code: 'EINVAL' },
    badKey: { code: 'EINVAL' },
    badValue: { code: 'EINVAL' },
    tooLong: { code: 'EINVAL' },
  });
});

test('walks list every ring, pool and memzone, however many there are, copying rows out under DPDK\'s locks without allocating (L3)', async () => {
  const prefix = uniquePrefix('eal');
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0']), '--', 'walks', '40']);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  // cleanup() walked the memsegs for the hugepage directories: nothing is left.
  expect(leftovers(prefix)).toEqual([]);
  const result = JSON.parse(/^RESULT (.*)$/m.exec(r.stdout)?.[1] ?? 'null');
  expect(result).toMatchObject({ rings: 40, pools: 40, poolRings: 40 });
  expect(result.ringCount).toBeGreaterThanOrEqual(80);
  expect(result.zones).toBeGreaterThanOrEqual(80);
});

test("a primary asking whether its own group's primary is alive, by prefix, keeps its lock: secondaries still attach (H3)", async () => {
  const prefix = uniquePrefix('eal');
  const primary = startFixture(FIXTURE, primaryArgs(prefix, 'own'));
  await primary.waitForJson('READY');
  expect(await primary.request('alive-by-prefix', 'ALIVE')).toEqual({ alive: true });
  // With the lock gone, a secondary would find no primary (ENOENT) and a second primary would take the group over.
  const secondary = await runFixture(FIXTURE, secondaryArgs(prefix, 1, 'own', 'reply'));
  expect({ code: secondary.code, stderr: secondary.code === 0 ? '' : secondary.stderr }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(/^RESULT (.*)$/m.exec(secondary.stdout)?.[1] ?? 'null')).toMatchObject({ primaryAlive: true });
  primary.send('exit');
  expect((await primary.waitForExit()).code).toBe(0);
});

test("a primary's cleanup removes its own hugepage files only, not those of a prefix that starts like it (L13)", async () => {
  const prefix = uniquePrefix('eal');
  const longer = `${prefix}map_x`;
  const other = startFixture(FIXTURE, primaryArgs(longer, 'other'));
  await other.waitForJson('READY');
  const filesOf = (p: string): string[] => leftovers(p).filter((f) => !f.startsWith('/var/run'));
  expect(filesOf(longer).length).toBeGreaterThan(0);
  const primary = startFixture(FIXTURE, primaryArgs(prefix, 'mine'));
  await primary.waitForJson('READY');
  primary.send('exit');
  expect((await primary.waitForExit()).code).toBe(0);
  expect(leftovers(prefix)).toEqual([]);
  expect(filesOf(longer).length).toBeGreaterThan(0);
  other.send('exit');
  expect((await other.waitForExit()).code).toBe(0);
  expect(leftovers(longer)).toEqual([]);
});

test('abandon(): a secondary gives up its handles and EAL without a DPDK call (its TX buffers refuse too); cleanup() then does nothing', async () => {
  const prefix = uniquePrefix('eal');
  const primary = startFixture(FIXTURE, [...primaryArgs(prefix, 'gone'), 'port']);
  await primary.waitForJson('READY');
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '1', '--proc-type=secondary']), '--', 'abandon', 'gone']);
  expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
  expect(JSON.parse(/^RESULT (.*)$/m.exec(r.stdout)?.[1] ?? 'null')).toEqual({
    txBuffer: { code: 'E_EAL_CLOSED' },
    txFlush: { code: 'E_EAL_CLOSED' },
    abandoned: true,
    again: false,
    state: 'abandoned',
    zone: { code: 'E_CLOSED' },
    viewLength: 0,
    lookup: { code: 'E_EAL_CLOSED' },
    cleanup: false,
  });
  primary.send('exit');
  expect((await primary.waitForExit()).code).toBe(0);
});

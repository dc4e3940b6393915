/**
 * The allocator in real DPDK processes: a primary creates it, secondaries
 * race on it, holders die, the pool runs out.
 */
import path from 'node:path';
import { lcoreEalArgs } from '../src';
import { assertCleanTeardown, ealArgs, requireHugepages, runFixture, startFixture, uniquePrefix, type Fixture } from '@mp/test-kit';

const FIXTURE = path.join(__dirname, 'fixtures', 'alloc-process.ts');

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

interface Reply<T> {
  ok: boolean;
  value: T;
  error?: { code?: string; message: string; isDpdkError: boolean };
}

interface LeaseJson {
  id: number;
  generation: number;
  ownerPid: number;
  role: string;
  socket: number;
}

interface Inspection {
  leases: Array<LeaseJson & { alive: boolean; since: number | null }>;
  free: number;
  counters: Array<{ id: number; generation: number; claims: number; reclaims: number; free: boolean }>;
  stats: { ids: number; free: number; claims: string; releases: string; reclaims: string; transfers: string };
}

let asked = 0;

/** Sends a numbered command and waits for its reply. */
async function ask<T = unknown>(f: Fixture, cmd: string, ...args: unknown[]): Promise<Reply<T>> {
  asked += 1;
  const n = asked;
  f.send(`${n} ${cmd} ${args.map((a) => JSON.stringify(a)).join(',')}`);
  return f.waitForJson<Reply<T>>(`R${n}`, 60_000);
}

async function value<T>(f: Fixture, cmd: string, ...args: unknown[]): Promise<T> {
  const r = await ask<T>(f, cmd, ...args);
  if (!r.ok) throw new Error(`${cmd} failed: ${JSON.stringify(r.error)}\n${f.describe()}`);
  return r.value;
}

async function startPrimary(prefix: string, name: string, opts: object): Promise<{ primary: Fixture; ids: number[]; lcores: number[] }> {
  const primary = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0']), '--', 'primary', name, JSON.stringify(opts)]);
  const ready = await primary.waitForJson<{ ids: number[]; lcores: number[] }>('READY');
  return { primary, ...ready };
}

function secondaryArgs(prefix: string, lcore: number, role: string, ...rest: string[]): string[] {
  return [...ealArgs(prefix, [`--lcores=${lcore}@(0-1)`, '--proc-type=secondary']), '--', role, ...rest];
}

async function stop(f: Fixture): Promise<void> {
  await value(f, 'exit');
  expect(await f.waitForExit()).toEqual({ code: 0, signal: null });
}

test('a default allocator leases every id outside the primary\'s lcores and reserved ids', async () => {
  const prefix = uniquePrefix('lcal');
  const { primary, ids, lcores } = await startPrimary(prefix, 'lcal-default', { reserved: [1, 2, 3] });
  expect(lcores).toEqual([0]);
  expect(ids).toEqual(Array.from({ length: 124 }, (_, i) => i + 4));
  const lease = await value<LeaseJson>(primary, 'acquire');
  expect(ids).toContain(lease.id);
  expect(lease.generation).toBe(1);
  const seen = await value<Inspection>(primary, 'inspect');
  expect(seen.free).toBe(123);
  expect(seen.leases).toEqual([expect.objectContaining({ id: lease.id, ownerPid: lease.ownerPid, alive: true, generation: 1 })]);
  expect(seen.leases[0]?.since).toEqual(expect.any(Number));
  expect(await value(primary, 'release', lease)).toBe(true);
  expect(await value(primary, 'release', lease)).toBe(false);
  expect((await value<Inspection>(primary, 'inspect')).free).toBe(124);
  await stop(primary);
});

test('8 processes x 10 000 acquire/release cycles on 16 ids: never two holders of one id, nothing lost', async () => {
  const prefix = uniquePrefix('lcal');
  const ids = Array.from({ length: 16 }, (_, i) => 100 + i);
  const { primary } = await startPrimary(prefix, 'lcal-race', { ids });
  const cycles = 10_000;
  const racers = Array.from({ length: 8 }, (_, i) => startFixture(FIXTURE, secondaryArgs(prefix, i + 1, 'racer', 'lcal-race', String(cycles))));
  const lcoresSeen = await Promise.all(racers.map((r) => r.waitForJson<{ lcore: number }>('READY', 60_000)));
  expect(lcoresSeen.map((r) => r.lcore)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  for (const r of racers) r.send('go');
  const results = await Promise.all(
    racers.map((r) =>
      r.waitForJson<{ doubleHolders: number; lostOwnerWord: number; failedReleases: number; lostRaces: number; perId: number[] }>('DONE', 110_000),
    ),
  );
  for (const r of racers) expect(await r.waitForExit()).toEqual({ code: 0, signal: null });
  for (const r of results) {
    expect({ doubleHolders: r.doubleHolders, lostOwnerWord: r.lostOwnerWord, failedReleases: r.failedReleases }).toEqual({
      doubleHolders: 0,
      lostOwnerWord: 0,
      failedReleases: 0,
    });
    expect(r.perId.reduce((a, b) => a + b, 0)).toBe(cycles);
  }
  // The races really happened: some claims were lost to another process and retried.
  expect(results.reduce((a, r) => a + r.lostRaces, 0)).toBeGreaterThan(0);
  const end = await value<Inspection>(primary, 'inspect');
  expect(end.free).toBe(16);
  expect(end.leases).toEqual([]);
  expect(end.stats).toMatchObject({ claims: String(8 * cycles), releases: String(8 * cycles), reclaims: '0', transfers: '0' });
  // Each claim and each release bumped the generation once.
  for (const c of end.counters) {
    expect(c).toEqual({ id: c.id, generation: 2 * c.claims, claims: c.claims, reclaims: 0, free: true });
    const claimedByRacers = results.reduce((a, r) => a + (r.perId[ids.indexOf(c.id)] ?? 0), 0);
    expect(c.claims).toBe(claimedByRacers);
  }
  await stop(primary);
});

test('a SIGKILLed holder\'s id is reclaimed, and its late release cannot free the new owner\'s lease', async () => {
  const prefix = uniquePrefix('lcal');
  const { primary } = await startPrimary(prefix, 'lcal-kill', { ids: [40] });
  const holder = startFixture(FIXTURE, secondaryArgs(prefix, 1, 'holder', 'lcal-kill'));
  await holder.waitForJson('READY');
  const old = await value<LeaseJson>(holder, 'acquire');
  expect(old).toMatchObject({ id: 40, generation: 1, ownerPid: holder.pid });
  holder.kill('SIGKILL');
  expect(await holder.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });

  const before = await value<Inspection>(primary, 'inspect');
  expect(before.leases).toEqual([expect.objectContaining({ id: 40, ownerPid: holder.pid, alive: false, generation: 1 })]);

  // Told not to reclaim (a supervisor repairing the dead process's caches first), acquire reports the dead holder.
  const refused = await ask(primary, 'acquire', { reclaimDead: false });
  expect(refused.error).toMatchObject({ code: 'ENOSPC' });
  expect(refused.error?.message).toMatch(new RegExp(`pid ${holder.pid} \\(dead, not yet reclaimed\\) holds id 40\\.`));

  // The pool (one id) is exhausted: acquire reclaims the dead holder's id by itself.
  const fresh = await value<LeaseJson>(primary, 'acquire');
  expect(fresh).toMatchObject({ id: 40, generation: 3, ownerPid: primary.pid });
  const after = await value<Inspection>(primary, 'inspect');
  expect(after.stats.reclaims).toBe('1');
  expect(after.counters).toEqual([{ id: 40, generation: 3, claims: 2, reclaims: 1, free: false }]);

  // The dead holder's release, replayed with its old generation, does nothing.
  expect(await value(primary, 'release', old)).toBe(false);
  expect(await value(primary, 'held', fresh)).toBe(true);
  expect((await value<Inspection>(primary, 'inspect')).leases).toEqual([
    expect.objectContaining({ id: 40, ownerPid: primary.pid, generation: 3, alive: true }),
  ]);
  expect(await value(primary, 'release', fresh)).toBe(true);
  await stop(primary);
});

test('reclaimDead frees a dead owner\'s lease but never a live one, and spots a reused pid', async () => {
  const prefix = uniquePrefix('lcal');
  const { primary } = await startPrimary(prefix, 'lcal-reclaim', { ids: [50, 51, 52] });
  const holder = startFixture(FIXTURE, secondaryArgs(prefix, 1, 'holder', 'lcal-reclaim'));
  await holder.waitForJson('READY');
  const live = await value<LeaseJson>(primary, 'acquire');
  const doomed = await value<LeaseJson>(holder, 'acquire');
  const reused = await value<LeaseJson>(primary, 'acquire');
  expect(await value(primary, 'reclaim')).toEqual([]);

  holder.kill('SIGKILL');
  await holder.waitForExit();
  // The primary still runs, but the lease now records another start time,
  // as if the primary had died and a new process had got its pid.
  expect(await value(primary, 'fake-pid-reuse', reused.id)).toBe(reused.generation);
  const freed = await value<Array<{ id: number; generation: number; ownerPid: number }>>(primary, 'reclaim');
  expect(freed.sort((a, b) => a.id - b.id)).toEqual(
    [
      { id: doomed.id, generation: doomed.generation, ownerPid: holder.pid },
      { id: reused.id, generation: reused.generation, ownerPid: primary.pid },
    ].sort((a, b) => a.id - b.id),
  );
  expect(await value(primary, 'held', live)).toBe(true);
  expect(await value(primary, 'reclaim')).toEqual([]);
  const seen = await value<Inspection>(primary, 'inspect');
  expect(seen.leases).toEqual([expect.objectContaining({ id: live.id, alive: true })]);
  expect(seen.free).toBe(2);
  await stop(primary);
});

test('exhaustion is ENOSPC at once, with a message naming the ids, their holders and the fix', async () => {
  const prefix = uniquePrefix('lcal');
  const { primary } = await startPrimary(prefix, 'lcal-full', { ids: [60, 61, { id: 62, role: 'stats' }] });
  await value(primary, 'acquire');
  await value(primary, 'acquire');
  const r = await ask(primary, 'acquire');
  expect(r.ok).toBe(false);
  expect(r.error).toMatchObject({ isDpdkError: true, code: 'ENOSPC' });
  expect(r.error?.message).toBe(
    `acquire: no free lcore id in allocator 'lcal-full': all 2 untagged ids (of 3 ids in the pool) are leased: ` +
      `pid ${primary.pid} holds ids 60-61. ` +
      'Release leases that are no longer needed, stop floating processes, or create the allocator with more ids',
  );
  // The id reserved for a role is still there for that role, and then that runs out too.
  expect(await value(primary, 'free-count', { role: 'stats' })).toBe(1);
  expect(await value<LeaseJson>(primary, 'acquire', { role: 'stats' })).toMatchObject({ id: 62, role: 'stats' });
  const again = await ask(primary, 'acquire', { role: 'stats' });
  expect(again.error).toMatchObject({ code: 'ENOSPC' });
  expect(again.error?.message).toMatch(/all 3 ids for role 'stats' or untagged \(of 3 ids in the pool\) are leased: pid \d+ holds ids 60-62\./);
  await stop(primary);
});

test('a lease taken by a parent for a child is transferred to the child, which then owns and releases it', async () => {
  const prefix = uniquePrefix('lcal');
  const { primary } = await startPrimary(prefix, 'lcal-xfer', { ids: [70, 71] });
  const forChild = await value<LeaseJson>(primary, 'acquire');
  expect(forChild.ownerPid).toBe(primary.pid);
  const child = startFixture(FIXTURE, secondaryArgs(prefix, forChild.id, 'holder', 'lcal-xfer'));
  await child.waitForJson('READY');
  const handed = await value<LeaseJson>(primary, 'transfer', forChild, child.pid);
  expect(handed).toMatchObject({ id: forChild.id, ownerPid: child.pid, generation: forChild.generation + 1 });
  // The parent's own lease is gone: releasing it is a no-op, a second transfer fails.
  expect(await value(primary, 'release', forChild)).toBe(false);
  expect((await ask(primary, 'transfer', forChild, primary.pid)).error).toMatchObject({ code: 'ENOENT' });
  const mine = await value<LeaseJson[]>(child, 'leases-of', child.pid);
  expect(mine).toEqual([handed]);
  expect(await value(child, 'release', mine[0])).toBe(true);
  expect((await value<Inspection>(primary, 'inspect')).stats).toMatchObject({ transfers: '1', free: 2 });
  await stop(child);
  await stop(primary);
});

test('a secondary cannot create or free the allocator, and opening a missing one is ENOENT', async () => {
  const prefix = uniquePrefix('lcal');
  const { primary } = await startPrimary(prefix, 'lcal-sec', { ids: [80] });
  const r = await runFixture(FIXTURE, secondaryArgs(prefix, 1, 'open', 'lcal-missing', 'lcal-sec'));
  expect(r.code).toBe(0);
  const result = JSON.parse(/^RESULT (.*)$/m.exec(r.stdout)?.[1] ?? 'null');
  expect(result.open).toMatchObject({ code: 'ENOENT', isDpdkError: true });
  expect(result.open.message).toMatch(/--file-prefix/);
  expect(result.create).toMatchObject({ code: 'E_RTE_SECONDARY', isDpdkError: true });
  expect(result.free).toMatchObject({ code: 'EPERM', isDpdkError: true });
  expect((await value<Inspection>(primary, 'inspect')).stats.ids).toBe(1);
  await stop(primary);
});

test('bad inputs each give their documented code and the process keeps running', async () => {
  const prefix = uniquePrefix('lcal');
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0']), '--', 'bad-inputs']);
  expect(r.code).toBe(0);
  const { results, alive } = JSON.parse(/^RESULT (.*)$/m.exec(r.stdout)?.[1] ?? 'null');
  expect(alive).toBe(true);
  const codes = Object.fromEntries(
    Object.entries(results as Record<string, unknown>).map(([k, v]) => [
      k,
      typeof v === 'object' && v !== null && 'isDpdkError' in v ? (v as unknown as { code: string }).code : v,
    ]),
  );
  expect(codes).toEqual({
    'long-name': 'EINVAL',
    'id-too-big': 'EINVAL',
    'duplicate-id': 'EINVAL',
    'eal-lcore-id': 'EINVAL',
    'reserved-and-listed': 'EINVAL',
    'unknown-option': 'EINVAL',
    'role-with-space': 'EINVAL',
    'open-missing': 'ENOENT',
    'open-foreign-zone': 'E_LAYOUT',
    'open-uninitialised': 'EAGAIN',
    'open-other-layout': 'E_LAYOUT',
    'acquire-bad-owner': 'EINVAL',
    'acquire-dead-owner': 'ESRCH',
    'acquire-bad-role': 'EINVAL',
    'release-unknown-id': 'EINVAL',
    'transfer-dead-pid': 'ESRCH',
    'release-twice': [true, false],
    'transfer-released': 'ENOENT',
    'after-close': 'E_CLOSED',
  });
  expect(results['long-name'].message).toMatch(/31 characters/);
  expect(results['duplicate-id'].message).toMatch(/lcore id 5 is listed twice/);
  expect(results['eal-lcore-id'].message).toMatch(/lcore id 0 is an EAL lcore of this process/);
  expect(results['open-other-layout'].message).toMatch(/layout version 1 hash .* this process expects version 1 hash/);
  expect(results['acquire-dead-owner'].message).toMatch(/process 4194304 is not running/);
});

test('a floating secondary started with --lcores=<leased id>@(0-1) runs as that lcore and uses its mempool cache', async () => {
  const prefix = uniquePrefix('lcal');
  const { primary, lcores } = await startPrimary(prefix, 'lcal-float', { reserved: [1, 2, 3] });
  const pool = 'lcal_float_pool';
  const size = 2047;
  await value(primary, 'pool-create', pool, size, 64);
  // The parent leases an id before the child exists, then hands it over.
  const forChild = await value<LeaseJson>(primary, 'acquire');
  const args = lcoreEalArgs(forChild, [0, 1]);
  expect(args).toEqual([`--lcores=${forChild.id}@(0-1)`]);
  const child = startFixture(FIXTURE, [...ealArgs(prefix, [...args, '--proc-type=secondary']), '--', 'holder', 'lcal-float']);
  await child.waitForJson('READY');
  const handed = await value<LeaseJson>(primary, 'transfer', forChild, child.pid);

  const me = await value<{ pid: number; currentLcore: number; mainLcore: number; lcores: number[]; cpusAllowed: string; leases: LeaseJson[] }>(
    child,
    'whoami',
  );
  expect(me).toEqual({
    pid: child.pid,
    currentLcore: forChild.id,
    mainLcore: forChild.id,
    lcores: [forChild.id],
    cpusAllowed: '0-1',
    leases: [handed],
  });
  expect(lcores).not.toContain(forChild.id);

  const used = await value<{ lcore: number; before: number; allocated: number; afterAlloc: number; inUse: number; freed: number; afterFree: number }>(
    child,
    'pool-use',
    pool,
    32,
  );
  expect(used).toMatchObject({ lcore: forChild.id, before: 0, allocated: 32, inUse: 32, freed: 32 });
  // rte_pktmbuf_alloc_bulk went through the leased lcore's cache: it was
  // filled from the pool, and the freed packets went back into it.
  expect(used.afterAlloc).toBeGreaterThan(0);
  expect(used.afterFree).toBeGreaterThan(used.afterAlloc);
  const watched = [forChild.id, 0];
  expect(await value(primary, 'pool-counts', pool, watched)).toEqual({ available: size, inUse: 0, caches: [used.afterFree, 0] });

  // The floating process crashes: its id comes back, and its cache still
  // holds the buffers until someone flushes it (safe now: no one uses the id).
  child.kill('SIGKILL');
  await child.waitForExit();
  expect(await value(primary, 'reclaim')).toEqual([{ id: handed.id, generation: handed.generation, ownerPid: child.pid }]);
  expect(await value(primary, 'pool-flush', pool, forChild.id)).toBe(used.afterFree);
  expect(await value(primary, 'pool-counts', pool, watched)).toEqual({ available: size, inUse: 0, caches: [0, 0] });
  await stop(primary);
});

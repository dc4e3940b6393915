/**
 * Misuse and garbage that used to crash a process, reach freed memory or
 * break the group: each now gets a clear error (or the right object).
 */
import path from 'node:path';
import { DEFAULT_BASE_VIRTADDR } from '../src';
import { assertCleanTeardown, compileDpdkC, ealArgs, removeLeftovers, requireHugepages, runFixture, startFixture, startProcess, uniquePrefix } from '@mp/test-kit';

const FIXTURE = path.join(__dirname, 'fixtures', 'handles-process.ts');

beforeAll(() => requireHugepages());

afterAll(async () => {
  await assertCleanTeardown();
});

async function run(role: string, eal: string[] = ['-l', '0'], ...args: string[]): Promise<Record<string, unknown>> {
  const prefix = uniquePrefix('handles');
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, eal), '--', role, ...args], { timeoutMs: 30_000 });
  expect({ code: r.code, signal: r.signal, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  const m = /^RESULT (.*)$/m.exec(r.stdout);
  if (!m) throw new Error(`no RESULT line in:\n${r.stdout}`);
  return JSON.parse(m[1] as string) as Record<string, unknown>;
}

test('allocPackets on a pool with no room past the headroom is a RangeError, not a crash (M6)', async () => {
  expect(await run('small-room')).toEqual({
    frames: { kind: 'RangeError', message: expect.stringMatching(/the pool's buffers hold at most 0/) },
    template: { kind: 'RangeError', message: expect.stringMatching(/the pool's buffers hold at most 0/) },
    empty: 1,
    inUse: 1,
  });
});

test('a frames array whose getter frees the pool gets E_CLOSED, not an allocation from freed memory (L4)', async () => {
  expect(await run('frames-getter-frees-pool')).toEqual({
    alloc: { code: 'E_CLOSED' },
    held: 0,
    poolClosed: true,
  });
});

test('lookupMempool refuses a pool that is not of packet buffers (M6)', async () => {
  const prefix = uniquePrefix('handles');
  // At the base address TS processes use, so the secondary maps the memory where V8 left room.
  const owner = startProcess('plain pool', compileDpdkC(path.join(__dirname, 'fixtures', 'pool-faults.c')), [
    ...ealArgs(prefix, ['-l', '0', `--base-virtaddr=${DEFAULT_BASE_VIRTADDR}`]),
    '--',
    'plain-pool',
    'plain_pool',
  ]);
  await owner.waitForLine(/^ready$/);
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '1', '--proc-type=secondary']), '--', 'plain-lookup', 'plain_pool']);
  expect(r.code).toBe(0);
  expect(JSON.parse(/^RESULT (.*)$/m.exec(r.stdout)?.[1] ?? 'null')).toEqual({ lookup: { code: 'EINVAL' } });
  owner.child.stdin?.end();
  expect((await owner.waitForExit()).code).toBe(0);
  // A C primary's rte_eal_cleanup leaves its runtime directory.
  removeLeftovers(prefix);
});

test('a lookup after another process re-created an object in the same slot gets a handle of the new object (M7)', async () => {
  const prefix = uniquePrefix('handles');
  const owner = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0']), '--', 'owner']);
  await owner.waitForJson('READY');
  const user = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '1', '--proc-type=secondary']), '--', 'user']);
  await user.waitForJson('READY');
  await owner.request('swap', 'SWAPPED');
  expect(await user.request('lookup', 'LOOKED')).toMatchObject({
    zone: { name: 'stale_b', length: 128, viewLength: 128 },
    ring: 'stale_ring_b',
    pool: 'stale_pool_b',
    // The old zone's slot now holds the new one: its handle and view are closed.
    oldViewLength: 0,
    oldZone: { code: 'E_CLOSED' },
  });
  expect((await user.waitForExit()).code).toBe(0);
  owner.send('exit');
  expect((await owner.waitForExit()).code).toBe(0);
});

test("a pool's packet-path function kept after its handle was collected throws instead of reaching the freed pool (M9)", async () => {
  expect(await run('kept-fast-path')).toEqual({
    collected: true,
    beforeCleanup: { code: 'E_CLOSED' },
    afterCleanup: { code: 'E_EAL_CLOSED' },
  });
});

test('a JS exception while DPDK walks its memzones leaves the memzone lock free (L3)', async () => {
  const r = await run('walk-throws');
  expect(r).toEqual({
    walk: { kind: 'Error', message: 'a setter on Array.prototype' },
    reserve: 'no error',
    // Zones made as EAL starts: the pool activity journal (activity.h) and the started ports (started_ports.cc).
    zones: ['mp_pool_activity', 'mpcore_started_ports', 'walk_a', 'walk_b'],
  });
});

test('transferring the packet-path frame copies it: the memory C writes stays put (L5); memzone views were copied already', async () => {
  expect(await run('transfer')).toEqual({ clones: ['no error', 'no error'], frameLength: 40, viewLength: 4096, allocated: 4 });
});

test('a refused pool free() leaves the user caches of the pool open (L10)', async () => {
  expect(await run('free-busy')).toEqual({
    busy: { code: 'EBUSY' },
    cacheAfterRefusal: { closed: false, count: expect.any(Number) },
    free: 'no error',
    cacheAfterFree: true,
  });
});

test("telemetry commands and help are checked against DPDK's limits with a clear message (L1)", async () => {
  const r = await run('telemetry');
  expect(r).toEqual({
    longest: 'no error',
    command: { code: 'EINVAL', message: expect.stringMatching(/at most 55 characters/) },
    help: { code: 'EINVAL', message: expect.stringMatching(/at most 127 characters/) },
  });
});

test('descriptor counts past 65535 are named as such by the native check (L19)', async () => {
  const r = await run('descriptors', ['-l', '0', '--vdev=net_null0']);
  expect(r.configure).toEqual({ code: 'EINVAL', message: expect.stringMatching(/70000 rx descriptors.*a queue has at most 65535 descriptors/) });
});

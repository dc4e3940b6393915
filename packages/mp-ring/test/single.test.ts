/**
 * Rings, pools and structs in one real primary: every rejected input carries
 * the right code and leaves the process working; every producer/consumer
 * mode moves packets; exact size, bulk, reset and free behave as DPDK says,
 * and no packet leaks from its pool.
 */
import path from 'node:path';
import { assertCleanTeardown, ealArgs, requireHugepages, runFixture, uniquePrefix } from '@mp/test-kit';

const FIXTURE = path.join(__dirname, 'fixtures', 'single.ts');

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

async function run<T>(role: string): Promise<T> {
  const r = await runFixture(FIXTURE, [...ealArgs(uniquePrefix('single'), ['-l', '0']), '--', role]);
  const line = /^RESULT (.*)$/m.exec(r.stdout)?.[1];
  if (r.code !== 0 || line === undefined) throw new Error(`fixture failed (${r.code})\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line) as T;
}

test('bad input: each a DpdkError with its code, and the process keeps working', async () => {
  const r = await run<{ codes: Record<string, string>; stillWorks: unknown; inUse: number; alive: boolean }>('bad-inputs');
  expect(r.codes).toEqual({
    ringName29: 'EINVAL',
    messageRingName29: 'EINVAL',
    poolName26: 'EINVAL',
    memzoneName32: 'EINVAL',
    emptyName: 'EINVAL',
    sizeNotPowerOfTwo: 'EINVAL',
    sizeZero: 'EINVAL',
    unknownMode: 'EINVAL',
    unknownOption: 'EINVAL',
    duplicate: 'EEXIST',
    duplicateMessageRing: 'EEXIST',
    messageRingOverPacketRing: 'EEXIST',
    packetRingStillAPacketRing: 'no error',
    enqueueIntoFreed: 'E_CLOSED',
    countOfFreed: 'E_CLOSED',
    missing: 'ENOENT',
    dequeueBulkPastRoom: 'EINVAL',
    notABurst: 'not a DpdkError: TypeError: burst must be a Burst',
    messageOutOfRange: 'EINVAL',
    messageWrongType: 'EINVAL',
    receiveZero: 'EINVAL',
  });
  expect(r.stillWorks).toEqual({ enqueued: 3, leftInBurst: 1, capacity: 3, sentMessage: 1, received: [{ a: 7, b: '9' }] });
  expect(r.inUse).toBe(0);
  expect(r.alive).toBe(true);
});

test('every producer/consumer mode, exact size, bulk all-or-nothing, reset and free return packets to the pool', async () => {
  const r = await run<{
    results: Record<string, unknown>;
    exact: Record<string, unknown>;
    inUseAfterFree: number;
  }>('modes');
  expect(Object.keys(r.results)).toHaveLength(16);
  for (const [mode, v] of Object.entries(r.results)) {
    expect([mode, v]).toEqual([mode, { enq: 63, left: 1, deq: 10, deq2: 53, count: 0 }]);
  }
  expect(r.exact).toEqual({
    capacity: 100,
    size: 128,
    bulkAll: 64,
    bulkTooMany: 0,
    afterBulk: { count: 64, free: 36, leftInB: 64 },
    dequeueBulk: 50,
    resetDropped: 14,
    inUseAfterReset: 50 + 64,
  });
  expect(r.inUseAfterFree).toBe(0);
});

test('cleanup frees the rings a process created (draining their packets) and closes every handle', async () => {
  const r = await run<Record<string, string>>('leave-for-cleanup');
  expect(r).toEqual({ afterCleanup: 'E_CLOSED', messageAfterCleanup: 'E_CLOSED' });
});

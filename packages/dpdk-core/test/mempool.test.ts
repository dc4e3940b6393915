/**
 * Packet-buffer pools, per-lcore and user-owned caches, and what a Burst
 * does with the packets it holds (move, free the rest, read/write/resize),
 * in real DPDK processes. (Repairing a dead process's cache is tested in
 * pool-faults.test.ts.)
 */
import path from 'node:path';
import { assertCleanTeardown, ealArgs, leftovers, requireHugepages, runFixture, uniquePrefix } from '@mp/test-kit';

const FIXTURE = path.join(__dirname, 'fixtures', 'ports-process.ts');

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

interface PoolsResult {
  lcore: number;
  start: { size: number; cacheSize: number; dataRoomSize: number; available: number; inUse: number; cache: number };
  same: boolean;
  allocated: number;
  afterAlloc: { available: number; inUse: number };
  freed: number;
  afterFree: { available: number; inUse: number; cache: number };
  flushed: number;
  afterFlush: { cache: number; available: number };
  bigAlloc: number[];
  bigLength: number;
  cacheAlloc: number;
  packetZeroLength: number;
  inUseWithCache: number;
  cacheHeld: number;
  cacheFreed: number;
  cacheHeldAfterFree: number;
  afterCacheClose: { inUse: number; cacheClosed: boolean };
  moved: number;
  order: { src: number[]; dst: number[] };
  movedRest: number;
  freedFrom: number;
  dstLeft: number;
  readCount: number;
  readBack: number[];
  tailCount: number;
  otherPacket: number[];
  end: { available: number; inUse: number };
  lookupAfterFree: { code: string };
}

/** Runs a role of the fixture in a primary of its own; its RESULT. */
async function run<T>(role: string): Promise<T> {
  const prefix = uniquePrefix(role);
  const done = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0']), '--', role]);
  expect({ code: done.code, stderr: done.code === 0 ? '' : done.stderr }).toEqual({ code: 0, stderr: '' });
  expect(leftovers(prefix)).toEqual([]);
  const m = /^RESULT (.*)$/m.exec(done.stdout);
  if (!m) throw new Error(`no RESULT line in:\n${done.stdout}`);
  return JSON.parse(m[1] as string) as T;
}

let r: PoolsResult;

beforeAll(async () => {
  r = await run<PoolsResult>('pools');
});

test('a new pool has every buffer available; lookup in the creator returns the same handle', () => {
  expect(r.start).toEqual({ size: 1023, cacheSize: 32, dataRoomSize: 1024, available: 1023, inUse: 0, cache: 0 });
  expect(r.same).toBe(true);
});

test('counts return to their start after alloc and free; the lcore cache keeps some until flushed', () => {
  expect(r.allocated).toBe(200);
  expect(r.afterAlloc).toEqual({ available: 823, inUse: 200 });
  expect(r.freed).toBe(200);
  expect(r.afterFree.inUse).toBe(0);
  expect(r.afterFree.available).toBe(1023);
  expect(r.afterFree.cache).toBeGreaterThan(0);
  expect(r.flushed).toBe(r.afterFree.cache);
  expect(r.afterFlush).toEqual({ cache: 0, available: 1023 });
  expect(r.end).toEqual({ available: 1023, inUse: 0 });
});

test('bulk allocation is all or nothing', () => {
  expect(r.bigAlloc).toEqual([1000, 23, 0]);
  expect(r.bigLength).toBe(1023);
});

test('a user-owned cache allocates fresh packets, takes them back, and returns everything when closed', () => {
  expect(r.cacheAlloc).toBe(16);
  expect(r.packetZeroLength).toBe(0);
  // Objects held by a user cache are out of the pool (in use) until it is flushed.
  expect(r.inUseWithCache).toBe(16 + r.cacheHeld);
  expect(r.cacheFreed).toBe(16);
  expect(r.cacheHeldAfterFree).toBe(r.cacheHeld + 16);
  expect(r.afterCacheClose).toEqual({ inUse: 0, cacheClosed: true });
});

test('moving packets between bursts keeps every packet, in order; freeFrom frees the tail', () => {
  expect(r.moved).toBe(3);
  expect(r.order).toEqual({ src: [1, 5], dst: [2, 3, 4] });
  expect(r.movedRest).toBe(2);
  expect(r.freedFrom).toBe(3);
  expect(r.dstLeft).toBe(2);
});

test('packet bytes: a written range reads back, other packets are untouched, resize grows the packet', () => {
  expect(r.readCount).toBe(16);
  expect(r.readBack).toEqual([8, 9, 0xaa, 0xbb, 0xcc, ...Array.from({ length: 11 }, (_, i) => 13 + i)]);
  expect(r.otherPacket).toEqual([10, 11, 12, 13]);
  expect(r.tailCount).toBe(4);
});

test('a freed pool is gone', () => {
  expect(r.lookupAfterFree.code).toBe('ENOENT');
});

/**
 * What a process stopped at one instruction leaves in a shared pool or ring
 * (test/fixtures/pool-faults.c reproduces each window of DPDK's inlined cache
 * put/get and ring enqueue/dequeue by hand), and what repair, reset and
 * packet reads make of it, checked with the one-owner audit: a buffer may be
 * lost, and then the repair says so, but never listed twice.
 */
import path from 'node:path';
import {
  assertCleanTeardown,
  compileDpdkC,
  ealArgs,
  requireHugepages,
  startFixture,
  startProcess,
  uniquePrefix,
  type Fixture,
} from '@mp/test-kit';
import type { MempoolAudit, RepairResult } from '../src';

const PRIMARY = path.join(__dirname, 'fixtures', 'pool-process.ts');
const FAULTS = path.join(__dirname, 'fixtures', 'pool-faults.c');

beforeAll(() => requireHugepages());

afterAll(async () => {
  await assertCleanTeardown();
});

interface Group {
  prefix: string;
  primary: Fixture;
  flushThreshold: number;
}

/** A primary holding pf_pool (4095 buffers, caches of 256: flush threshold 384) and pf_ring. */
async function group(tag: string): Promise<Group> {
  const prefix = uniquePrefix(tag);
  const primary = startFixture(PRIMARY, [...ealArgs(prefix, ['-l', '0']), '--', 'pool', '4095', '256']);
  const ready = await primary.waitForJson<{ flushThreshold: number }>('READY');
  return { prefix, primary, flushThreshold: ready.flushThreshold };
}

/** The C fixture as a secondary on `lcore`: `MODE pf_pool ARGS`. */
function faults(g: Group, lcore: number, mode: string, ...args: string[]): Fixture {
  const eal = [`--file-prefix=${g.prefix}`, '--proc-type=secondary', '--no-pci', '--log-level=warning', `--lcores=${lcore}@1`];
  return startProcess(`pool-faults ${mode}`, compileDpdkC(FAULTS), [...eal, '--', mode, 'pf_pool', ...args]);
}

/**
 * Half the pool out of the ring, as under traffic: a buffer put back twice
 * then fits in the ring (with all buffers in, the ring is full and DPDK's
 * bulk enqueue refuses the second copy).
 */
async function busy(g: Group): Promise<void> {
  expect(await g.primary.request('alloc 1000', 'ALLOC')).toEqual({ n: 1000 });
}

async function killedIn(g: Group, lcore: number, mode: string, ...args: string[]): Promise<void> {
  const f = faults(g, lcore, mode, ...args);
  expect(await f.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });
}

const repair = (g: Group, lcore: number, maxPut?: number): Promise<RepairResult> =>
  g.primary.request<RepairResult>(`repair ${lcore}${maxPut === undefined ? '' : ` ${maxPut}`}`, 'REPAIR');
const audit = (g: Group): Promise<MempoolAudit> => g.primary.request<MempoolAudit>('audit', 'AUDIT');

async function exit(g: Group): Promise<void> {
  g.primary.send('exit');
  expect(await g.primary.waitForExit()).toEqual({ code: 0, signal: null });
}

const clean = { duplicates: 0, lost: 0, foreign: 0, settled: true };

test('the audit finds every buffer once: in the ring, a cache, a packet ring or a burst', async () => {
  const g = await group('audit');
  expect(await audit(g)).toMatchObject({ size: 4095, inRing: 4095, inCaches: 0, held: 0, ...clean });
  await g.primary.request('alloc 40', 'ALLOC');
  // The held burst is a holder; the refill left the rest of a cache's worth in lcore 0's cache.
  const a = await audit(g);
  expect(a).toMatchObject({ held: 40, ...clean });
  expect(a.inRing + a.inCaches + a.held).toBe(4095);
  await exit(g);
});

test("a put killed between raising the cache's length and storing its object: the stale slot is not returned (C1)", async () => {
  const g = await group('putwin');
  await busy(g);
  // Twice: once with the default bound on a put's size, once telling the repair that puts were single.
  await killedIn(g, 5, 'put-window');
  const r = await repair(g, 5);
  expect(r).toMatchObject({ outcome: 'returned', objects: 2, returned: 0, discarded: 2, consumer: 'clean' });
  await killedIn(g, 6, 'put-window');
  const single = await repair(g, 6, 1);
  expect(single).toMatchObject({ outcome: 'returned', objects: 2, returned: 1, discarded: 1 });
  // Lost: each dying put's own object, and the first run's valid cached object.
  expect(await audit(g)).toMatchObject({ ...clean, lost: 3 });
  await exit(g);
});

test("a flush killed after its enqueue, before the cache's length is reset: nothing goes back twice (C1)", async () => {
  const g = await group('flushwin');
  await busy(g);
  await killedIn(g, 5, 'flush-window');
  // Other producers have moved the ring on by the time the repair runs.
  await g.primary.request('churn', 'CHURNED');
  const r = await repair(g, 5);
  expect(r).toMatchObject({ outcome: 'returned', objects: g.flushThreshold, returned: 0, discarded: g.flushThreshold });
  // The flushed objects were in the ring already; only the dying put's object is lost.
  expect(await audit(g)).toMatchObject({ ...clean, lost: 1 });
  await exit(g);
});

test('a flush killed after resetting the length, before storing objs[0]: the stale slot is not returned (C1)', async () => {
  const g = await group('flushreset');
  await busy(g);
  await killedIn(g, 5, 'flush-reset');
  await g.primary.request('churn', 'CHURNED');
  expect(await repair(g, 5)).toMatchObject({ outcome: 'returned', objects: 1, returned: 0, discarded: 1 });
  expect(await audit(g)).toMatchObject({ ...clean, lost: 1 });
  await exit(g);
});

test('a cache dead with puts complete gives back all but the last maxPut objects, and says how many it dropped', async () => {
  const g = await group('fill');
  await busy(g);
  await killedIn(g, 5, 'fill', '200');
  expect(await repair(g, 5)).toMatchObject({ outcome: 'returned', objects: 200, returned: 136, discarded: 64 });
  expect(await repair(g, 5)).toMatchObject({ outcome: 'clean', objects: 0 });
  // maxPut 0: the process exited by itself, every put it made was complete.
  await killedIn(g, 6, 'fill', '200');
  expect(await repair(g, 6, 0)).toMatchObject({ outcome: 'returned', objects: 200, returned: 200, discarded: 0 });
  expect(await audit(g)).toMatchObject({ ...clean, lost: 64 });
  await exit(g);
});

test('a flush killed inside its enqueue jams every producer; the repair completes it with the dead cache', async () => {
  const g = await group('prodjam');
  await killedIn(g, 5, 'prod-jam');
  const r = await repair(g, 5);
  expect(r).toMatchObject({ outcome: 'published', objects: g.flushThreshold, returned: g.flushThreshold });
  expect(r.prodHead).not.toBe(r.prodTail);
  // A put reaching the ring would have spun for ever.
  await g.primary.request('churn', 'CHURNED');
  expect(await audit(g)).toMatchObject(clean);
  await exit(g);
});

test('a live producer descheduled inside its enqueue is not taken for the dead one (M1)', async () => {
  const g = await group('live');
  await busy(g);
  const stopped = faults(g, 7, 'stop-producer', '300');
  await stopped.waitForLine(/^stopped$/);
  await killedIn(g, 8, 'fill', '200');
  // The stuck reservation holds the live producer's objects, not the dead cache's.
  expect(await repair(g, 8)).toMatchObject({ outcome: 'unrepairable', objects: 200 });
  stopped.kill('SIGCONT');
  await stopped.waitForLine(/^done$/);
  expect(await stopped.waitForExit()).toEqual({ code: 0, signal: null });
  expect(await repair(g, 8)).toMatchObject({ outcome: 'returned', objects: 200, returned: 136, discarded: 64 });
  expect(await audit(g)).toMatchObject({ ...clean, lost: 64 });
  await exit(g);
});

test('a refill killed inside its dequeue jams every consumer; the repair puts its objects back (H1)', async () => {
  const g = await group('consjam');
  await killedIn(g, 5, 'cons-jam', '32');
  const r = await repair(g, 5);
  expect(r).toMatchObject({ outcome: 'clean', consumer: 'republished', republished: 256 + 32 });
  expect(r.consHead).not.toBe(r.consTail);
  // The primary's first allocation refills its cache from the ring: it would have spun for ever.
  expect(await g.primary.request('alloc 32', 'ALLOC', 10_000)).toEqual({ n: 32 });
  await g.primary.request('free', 'FREED');
  expect(await audit(g)).toMatchObject(clean);
  await exit(g);
});

test('bad repair options and audit holders are refused before C sees them', async () => {
  const g = await group('bad');
  expect(await g.primary.request('bad', 'BAD')).toMatchObject({
    lcore: { code: 'EINVAL' },
    settle: { code: 'EINVAL' },
    maxPut: { code: 'EINVAL' },
    ringName: { code: 'EINVAL' },
    noRing: { code: 'ENOENT' },
    notTxBuffer: { code: 'EINVAL' },
    notBurst: { kind: 'TypeError' },
  });
  await exit(g);
});

test('a packet whose segments hold less than its length says is refused by readBytes, not followed past its end (L6)', async () => {
  const g = await group('chain');
  const f = faults(g, 5, 'crafted-chain', 'pf_ring');
  expect(await f.waitForExit()).toEqual({ code: 0, signal: null });
  expect(await g.primary.request('read', 'READ')).toEqual({ read: { code: 'EINVAL' } });
  await exit(g);
});

test('reset() of a ring while a producer is stopped inside its enqueue: the producer finishes, nothing is lost (L11)', async () => {
  const g = await group('reset');
  await g.primary.request('pass', 'PASSED');
  const producer = faults(g, 5, 'stop-producer', '4', 'pf_ring');
  await producer.waitForLine(/^stopped$/);
  expect(await g.primary.request('reset', 'RESET')).toEqual({ outcome: 'no error', count: 0 });
  producer.kill('SIGCONT');
  await producer.waitForLine(/^done$/);
  expect(await producer.waitForExit()).toEqual({ code: 0, signal: null });
  // Its 4 packets are in pf_ring, a holder the audit reads.
  expect(await audit(g)).toMatchObject({ ...clean, held: 4 });
  await exit(g);
});

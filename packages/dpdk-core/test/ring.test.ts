/**
 * Raw rings in a real DPDK process: element-size inference on lookup of small
 * rings, element rings in bulk and burst mode, producer/consumer modes,
 * use after free/close; and what every packet-path call does when handed
 * something that is not a Burst.
 */
import path from 'node:path';
import { assertCleanTeardown, ealArgs, leftovers, requireHugepages, runFixture, uniquePrefix } from '@mp/test-kit';

const FIXTURE = path.join(__dirname, 'fixtures', 'ring-process.ts');

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

async function run<T>(role: string, extra: string[] = []): Promise<T> {
  const prefix = uniquePrefix(`ring-${role}`);
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0', ...extra]), '--', role]);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(leftovers(prefix)).toEqual([]);
  const m = /^RESULT (.*)$/m.exec(r.stdout);
  if (!m) throw new Error(`no RESULT line in:\n${r.stdout}`);
  return JSON.parse(m[1] as string) as T;
}

const E = (code: string) => ({ code });

describe('raw rings', () => {
  let r: Record<string, unknown>;
  beforeAll(async () => {
    r = await run('raw');
  });

  // rte_ring is cache-line aligned, so a ring of `size` e-byte elements sits in
  // ceil64(sizeof(rte_ring) + size * e) bytes: below 16 entries several element
  // sizes give the same memzone length and lookup accepts all of them.
  test('lookupElementRing on rings smaller than 16 entries accepts the element sizes the memzone allows, no others', () => {
    expect(r.accepted).toEqual({ 4: [4, 8, 12, 16], 8: [12, 16], 16: [16] });
    expect(r.packetLookupOfElementRing).toEqual(E('EINVAL'));
  });

  test('enqueueElems/dequeueElems: bulk is all or nothing, burst takes what fits, contents in order', () => {
    expect(r).toMatchObject({
      capacity: 7,
      bulkTooMany: 0,
      countAfterRefusedBulk: 0,
      bulkFits: 5,
      bulkPastFree: 0,
      burstRest: 2,
      full: { count: 7, free: 0 },
      dequeueBulkTooMany: 0,
      dequeueBulk: 4,
      dequeueBurst: 3,
      contentsInOrder: true,
      elemsTooShortBuffer: E('EINVAL'),
      elemsOnPacketPath: E('EINVAL'),
    });
  });

  test('every producer and consumer mode reads back from the flags and moves packets; exactSize holds exactly size', () => {
    expect(r.modes).toEqual(
      [
        ['single', 'multi'],
        ['multi', 'rts'],
        ['rts', 'hts'],
        ['hts', 'single'],
      ].map(([producer, consumer]) => ({
        producer,
        consumer,
        back: { producer, consumer, exactSize: false },
        enq: 32,
        deq: 32,
      })),
    );
    expect(r.exact).toEqual({ capacity: 10, size: 16, modes: { producer: 'multi', consumer: 'multi', exactSize: true } });
  });

  test('a freed or closed ring throws E_CLOSED on every use; free drains packets and is idempotent', () => {
    expect(r.freeReturnsPackets).toEqual({ before: 8, after: 0 });
    expect(r.afterFree).toEqual({
      enqueueBurst: E('E_CLOSED'),
      enqueueBulk: E('E_CLOSED'),
      dequeueBurst: E('E_CLOSED'),
      dequeueBulk: E('E_CLOSED'),
      count: E('E_CLOSED'),
      reset: E('E_CLOSED'),
      freeAgain: 'no error',
      closed: true,
    });
    expect(r.elemsAfterFree).toEqual({ enqueue: E('E_CLOSED'), dequeue: E('E_CLOSED') });
    expect(r.afterClose).toEqual(E('E_CLOSED'));
    expect(r.lookupFreed).toEqual(E('ENOENT'));
    expect(r.burstLength).toBe(3);
    expect(r.poolInUseAtEnd).toBe(0);
  });
});

test('every packet-path call refuses what is not a Burst with a TypeError, even an object carrying a live burst id', async () => {
  const r = await run<Record<string, unknown>>('wrong-objects', ['--vdev=net_null0']);
  const typeError = { kind: 'TypeError', message: 'burst must be a Burst' };
  const calls = [
    'rxBurst',
    'txBurst',
    'portRx',
    'portTx',
    'ringEnqueueBurst',
    'ringEnqueueBulk',
    'ringDequeueBurst',
    'ringDequeueBulk',
    'txBufferBuffer',
    'poolAllocBulk',
    'cacheAllocBulk',
    'cacheFreeBurst',
    'moveToTarget',
    'moveFrom',
  ];
  for (const c of calls) {
    expect({ [c]: r[c] }).toEqual({
      [c]: { forged: typeError, protoForged: typeError, plain: typeError, number: typeError, nothing: typeError },
    });
  }
  expect(r.nativeGarbageIds).toEqual([typeError, typeError, typeError, typeError, typeError]);
  expect(r.realUntouched).toBe(4);
  expect(r.stillWorks).toEqual({ enq: 4, deq: 4, length: 4 });
  expect(r.poolInUseAtEnd).toBe(0);
});

// Native finalizers run on a later turn of the event loop than the collection
// of the handle's object; a lookup in between must not get the dead handle.
test('a lookup between the collection of a handle and its finalizer gets a fresh, working handle', async () => {
  const r = await run<Record<string, unknown>>('collected-handles');
  expect(r).toEqual({
    collected: [true, true, true],
    again: { ring: 'no error', pool: 'no error', zone: 'no error' },
    afterFinalizers: { ring: 'no error', pool: 'no error', zone: 'no error' },
  });
});

/**
 * Packet vectors in real DPDK processes: fill from ports and rings, send by
 * destination to every kind of output, counters in shared memory, the
 * accessors byte for byte and every refusal, what survives close, cleanup
 * and garbage collection (in child processes: a crash fails the test), and
 * bytes through the views end to end in a secondary on live interfaces.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Veths,
  assertCleanTeardown,
  ealArgs,
  exchange,
  expectedFrames,
  leftovers,
  requireHugepages,
  runFixture,
  startFixture,
  uniquePrefix,
  vethTag,
} from '@mp/test-kit';
import { readPcap, writePcap } from '@mp/test-kit';
import { offsetsView } from '../src/vector';
import { digest, rewritten } from './fixtures/views';

const FIXTURE = path.join(__dirname, 'fixtures', 'vector-process.ts');
const NULLS_AND_RING = ['--vdev=net_null0', '--vdev=net_null1', '--vdev=net_ring0'];
let dir = '';

beforeAll(() => {
  requireHugepages();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpdk-core-vector-'));
});

afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await assertCleanTeardown();
});

/** Runs a role in a primary of its own; it must exit 0 (no crash) and leave nothing. Returns its RESULT. */
async function run<T = Record<string, unknown>>(role: string, extra: string[] = [], args: string[] = []): Promise<T> {
  const prefix = uniquePrefix(`vec-${role}`);
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0', ...extra]), '--', role, ...args]);
  expect({ code: r.code, signal: r.signal, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  expect(leftovers(prefix)).toEqual([]);
  const m = /^RESULT (.*)$/m.exec(r.stdout);
  if (!m) throw new Error(`no RESULT line in:\n${r.stdout}`);
  return JSON.parse(m[1] as string) as T;
}

const E = (code: string) => ({ code });
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const refused = (message: RegExp) => ({ kind: 'RangeError', message: expect.stringMatching(message) });
const NO_PACKETS = refused(/^the packet vector holds no packets \(sent, freed, or not filled yet\); fill\(\) it first$/);

test('fill() from one and from two ports: counts, input ports, DROP by default, received per port; where a fill stops', async () => {
  const r = await run('fill-ports', NULLS_AND_RING);
  expect(r).toEqual({
    // net_null: full bursts of 64-byte packets, stamped with their port.
    one: { filled: 100, count: 100, ports: [[1, 100]], dests: [[65535, 100]], lengths: [[64, 100]], received: [100], inUse: 100 },
    oneFull: { filled: 100, received: [100] },
    oneSent: { handed: 0, count: 0, discarded: 100, inUse: 0 },
    // Capacity 80, bursts of 32, ports in turn; the next fill starts at the port after the last one read.
    twoFirst: { filled: 80, ports: [[0, 32], [1, 32], [0, 16]], received: [48, 32] },
    twoSecond: { filled: 80, ports: [[1, 32], [0, 32], [1, 16]], received: [80, 80] },
    // net_ring gives back only what was sent to it (and does not stamp the port: the vector does).
    emptyFill: 0,
    looped: {
      firstFive: 5,
      filled: 7,
      again: 7,
      ports: [[2, 7]],
      dests: [[0, 5], [65535, 2]],
      lengths: [61, 62, 63, 64, 65, 70, 71],
      tags: range(0, 7),
      received: [7],
    },
    inUseAtEnd: 0,
  });
});

describe('send()', () => {
  let r: Record<string, unknown>;
  beforeAll(async () => {
    r = await run('send', NULLS_AND_RING);
  });

  test('each packet to the output its destination names; exact counts per output, order kept per ring, DROP discarded', () => {
    // Outputs: 0 port 0 through a TX buffer of 16, 1 port 1 directly, 2 a ring in bulk, 3 a ring in burst mode.
    expect(r.interleaved).toEqual({
      handed: 32,
      count: 0,
      received: [40],
      sent: [0, 8, 8, 8],
      dropped: [0, 0, 0, 0],
      discarded: 8,
      buffered: 8,
      wire: [0, 8, 0],
      bulkRing: range(0, 8).map((k) => 5 * k + 2),
      burstRing: range(0, 8).map((k) => 5 * k + 3),
      inUse: 8,
    });
    // A TX buffer's packets count as sent when it flushes.
    expect(r.flushed).toEqual({ flushed: 8, sent: [8, 8, 8, 8], buffered: 0, wire: [8, 8, 0], again: 0 });
    expect(r.inRuns).toEqual({
      handed: 30,
      received: [80],
      sent: [8, 18, 18, 18],
      dropped: [0, 0, 0, 0],
      discarded: 18,
      buffered: 0,
      bulkRing: range(100, 10),
      burstRing: range(110, 10),
      inUse: 0,
    });
  });

  test('a bulk ring takes its whole share or none, a burst ring what fits; the rest is freed and counted as dropped', () => {
    // Both rings hold 55 of 63: room for 8. Shares of 10 each, interleaved.
    expect(r.full).toEqual({
      handed: 8,
      before: { sent: [8, 18, 18, 18], dropped: [0, 0, 0, 0] },
      received: [100],
      sent: [8, 18, 18, 26],
      dropped: [0, 0, 10, 2],
      discarded: 18,
      buffered: 0,
      bulkRing: range(1050, 5),
      burstRing: [...range(2050, 5), ...range(0, 8).map((k) => 201 + 2 * k)],
      inUse: 0,
    });
    // A port that takes 3: a direct output frees the other 7 at once, a TX buffer of 8 when it flushes (5).
    expect(r.partialPort).toEqual({
      direct: { handed: 3, received: [10], sent: [3, 0], dropped: [7, 0], discarded: 0, buffered: 0, drained: 1023 },
      buffered: { handed: 8, received: [18], sent: [3, 3], dropped: [7, 5], discarded: 0, buffered: 0, drained: 1023 },
    });
    expect(r.inUseAtEnd).toBe(0);
  });

  test('a destination naming no output is refused before anything moves; the vector is untouched', () => {
    expect(r.badDestination).toEqual({
      refused: refused(/^packet 4 has destination 4; this vector has 4 outputs \(0\.\.3\) and DROP \(65535\); nothing was sent$/),
      count: 6,
      dests: [0, 1, 2, 3, 4, 65535],
      tags: range(300, 6),
      untouched: true,
      inUseSame: true,
      ringsEmpty: [0, 0],
    });
    expect(r.badDestinationLast).toEqual(refused(/^packet 5 has destination 65534;/));
    expect(r.fixed).toEqual({ handed: 4, bulkRing: [302], burstRing: [303] });
    expect(r.totals).toEqual({ received: [106], sent: [9, 19, 19, 27], dropped: [0, 0, 10, 2], discarded: 20, buffered: 0 });
  });

  test('a vector going whole to one destination keeps the same rules: a bulk ring all or none, a burst ring what fits, DROP discarded', () => {
    // Both rings hold 55 of 63 again: room for 8. Then a share that fits.
    expect(r.oneDestination).toEqual({
      bulkFull: { handed: 0, received: [118], sent: [9, 19, 19, 27], dropped: [0, 0, 22, 2], discarded: 20, buffered: 0 },
      burstFull: { handed: 8, received: [130], sent: [9, 19, 19, 35], dropped: [0, 0, 22, 6], discarded: 20, buffered: 0 },
      dropped: { handed: 0, received: [135], sent: [9, 19, 19, 35], dropped: [0, 0, 22, 6], discarded: 25, buffered: 0 },
      bulkRing: range(3050, 5),
      burstRing: [...range(4050, 5), ...range(700, 8)],
      fits: { handed: 6, received: [141], sent: [9, 19, 25, 35], dropped: [0, 0, 22, 6], discarded: 25, buffered: 0 },
      bulkAfter: range(900, 6),
      inUse: 0,
    });
  });
  test('bulkLimit: a share goes in pieces of at most that many, in order, each whole or not at all; 0 is refused (with the other bad options)', () => {
    expect(r.bulkLimit).toEqual({
      shared: { handed: 18, sent: [8, 10], dropped: [2, 0] },
      sharedRing: range(0, 8).map((k) => 1100 + 2 * k),
      whole: { handed: 6, sent: [14, 10], dropped: [6, 0] },
      wholeRing: [1200, 1201, 1202, 1203, 1208, 1209],
    });
  });
});

test('counters mirrored into a memzone at the given indexes (-1: not mirrored); E_CLOSED once it is freed, free() still gives the packets back', async () => {
  const r = await run('counters', ['--vdev=net_null0']);
  // mirror: [received, sent[0], (sent[1] not mirrored), dropped[0], dropped[1], ...]
  expect(r).toEqual({
    first: { vector: { received: [12], sent: [4, 6], dropped: [0, 0], discarded: 0, buffered: 2 }, mirror: [12, 4, 0, 0, 0, 0, 0, 0] },
    second: { vector: { received: [24], sent: [12, 6], dropped: [0, 6], discarded: 0, buffered: 0 }, mirror: [24, 12, 0, 0, 6, 0, 0, 0] },
    filledBeforeFree: 5,
    afterOtherFreed: 'no error',
    afterCountersFreed: { fill: E('E_CLOSED'), send: E('E_CLOSED'), flush: E('E_CLOSED'), count: 5 },
    freed: 5,
    inUseAtEnd: 0,
  });
});

test('flush, free and close; a named vector peeks its batch (EBUSY for the ring and a second fill), free() puts it back, closing the ring handle too', async () => {
  const r = await run('lifecycle', ['--vdev=net_null0']);
  expect(r.five).toEqual({ handed: 5, received: [5], sent: [0], dropped: [0], discarded: 0, buffered: 5 });
  expect(r.flush).toEqual({ flushed: 5, received: [5], sent: [5], dropped: [0], discarded: 0, buffered: 0, again: 0 });
  // 20 into a buffer of 8: two flushes during send, 4 left.
  expect(r.twenty).toEqual({ handed: 20, received: [25], sent: [21], dropped: [0], discarded: 0, buffered: 4, inUse: 4 });
  expect(r.closed).toEqual({
    received: [25],
    sent: [21],
    dropped: [4],
    discarded: 0,
    buffered: 0,
    closed: true,
    count: 0,
    inUse: 0,
    again: 'no error',
    fill: E('E_CLOSED'),
    send: E('E_CLOSED'),
    flush: E('E_CLOSED'),
    free: 'no error',
    u8: E('E_CLOSED'),
  });
  expect(r.plainFree).toEqual({ freed: 7, count: 0, discarded: 7, ring: 0, inUse: 0 });
  expect(r.peeked).toEqual({
    filled: 10,
    tags: range(40, 10),
    ringCount: 10,
    fillAgain: E('EBUSY'),
    dequeue: E('EBUSY'),
    reset: E('EBUSY'),
    enqueue: 'no error',
  });
  expect(r.namedFree).toEqual({ freed: 10, discarded: 0, ringCount: 10, inUse: 10 });
  expect(r.namedSend).toEqual({ handed: 4, received: [20], sent: [4], dropped: [0], discarded: 6, buffered: 0, ringCount: 0, sink: range(40, 4) });
  expect(r.namedEmptyFill).toBe(0);
  expect(r.ringClosed).toEqual({
    count: 0,
    length0: 0,
    u8: NO_PACKETS,
    fill: E('E_CLOSED'),
    send: 'no error',
    ringCount: 5,
    tags: range(60, 5),
    inUse: 0,
  });
  expect(r.zoneAfterClose).toEqual(E('ENOENT'));
  expect(r.ringFreed).toEqual({ count: 0, fill: E('E_CLOSED'), inUse: 0 });
  expect(r.inUseAtEnd).toBe(0);
});

test('bad options and objects: EINVAL/ENODEV/EBUSY/ENOENT with a message that says what is wrong; the process lives on', async () => {
  const r = await run<{ results: Record<string, { code?: string; message: string } | string>; alive: boolean }>('refusals', ['--vdev=net_null0']);
  expect(r.alive).toBe(true);
  const codes = Object.fromEntries(Object.entries(r.results).map(([k, v]) => [k, typeof v === 'string' ? v : v.code ?? v]));
  expect(codes).toEqual({
    noPool: 'EINVAL',
    notAPool: 'EINVAL',
    capacityZero: 'EINVAL',
    capacityTooBig: 'EINVAL',
    capacityFraction: 'EINVAL',
    noInput: 'EINVAL',
    bothInputs: 'EINVAL',
    noPorts: 'EINVAL',
    burstSizeZero: 'EINVAL',
    noOutputs: 'EINVAL',
    outputUnknownKey: 'EINVAL',
    bufferSizeZero: 'EINVAL',
    bulkLimitZero: 'EINVAL',
    bulkLimitWithoutBulk: 'EINVAL',
    prefetchWithoutBytes: 'EINVAL',
    nameTooLong: 'EINVAL',
    countersNotBigUint64: 'EINVAL',
    counterIndexOutside: 'EINVAL',
    countersResizable: 'EINVAL',
    elementRingInput: 'EINVAL',
    burstAsRing: 'EINVAL',
    elementRingOutput: 'EINVAL',
    unknownInputPort: 'ENODEV',
    unknownOutputPort: 'ENODEV',
    unknownRxQueue: 'EINVAL',
    unknownTxQueue: 'EINVAL',
    multiConsumerNamed: 'EINVAL',
    nameHeldHere: 'EBUSY',
    closedRing: 'E_CLOSED',
    reclaimUnknown: 'ENOENT',
    reclaimNotAVector: 'EINVAL',
    reclaimHeldHere: 'EBUSY',
    // Test-only, but a misspelt name must not arm nothing in silence (the fault suite lost a kill that way).
    unknownFailpoint: { kind: 'RangeError', message: "unknown packet vector failpoint 'kill-after-nothing'; use 'send-kill-after-chunk', 'kill-after-fill' or 'kill-in-peek'" },
    multiConsumerUnnamed: 'no error',
  });
  const message = (k: string): string => {
    const v = r.results[k];
    return typeof v === 'string' ? v : v?.message ?? '';
  };
  const messages: Record<string, RegExp> = {
    notAPool: /options\.pool: must be a Mempool/,
    capacityTooBig: /options\.capacity: .*<=2048/,
    noInput: /options\.input: .*\{ ports: .*\} or \{ ring \}/,
    bothInputs: /options\.input: .*\{ ports: .*\} or \{ ring \}/,
    elementRingInput: /options\.input: .*packet Ring/,
    burstAsRing: /options\.input: .*packet Ring/,
    elementRingOutput: /options\.outputs\.0: .*packet Ring/,
    outputUnknownKey: /options\.outputs\.0: Unrecognized key: "bogus"/,
    noOutputs: /options\.outputs: .*>=1 items/,
    bulkLimitZero: /options\.outputs\.0\.bulkLimit: Too small: expected number to be >=1/,
    bulkLimitWithoutBulk: /options\.outputs\.0\.bulkLimit: bulkLimit sizes the pieces of a bulk enqueue; with bulk: false the ring takes what fits, so leave bulkLimit out/,
    prefetchWithoutBytes: /options\.prefetch: prefetch brings in the packet bytes a handler reads; with bytes: false it reads none, so leave prefetch out/,
    nameTooLong: /options\.name: a memzone name has at most 31 characters/,
    counterIndexOutside: /every counter index must lie inside counters\.array/,
    countersResizable: /must not be over a resizable ArrayBuffer/,
    unknownInputPort: /port 9 does not exist/,
    unknownRxQueue: /port 0 has no rx queue 1 \(it has 1\)/,
    unknownTxQueue: /port 0 has no tx queue 1 \(it has 1\)/,
    multiConsumerNamed: /ring 'vr_mc' has several consumers; .*single-consumer ring/,
    nameHeldHere: /packet vector 'vr_held' is held by another handle of this process/,
    reclaimUnknown: /no packet vector 'vr_nobody'/,
    reclaimNotAVector: /memzone 'vr_plain_zone' is not a packet vector/,
  };
  for (const [k, re] of Object.entries(messages)) expect({ [k]: message(k) }).toEqual({ [k]: expect.stringMatching(re) });
});

test("offsetsView: the addon's unsigned offsets read as themselves, through signed words under 2 GiB of pool memory, unsigned ones from 2 GiB", () => {
  const meta = new ArrayBuffer(16);
  // As the addon writes them: the largest offset each view must read back.
  new Uint32Array(meta, 4, 2).set([0x7ffffffb, 0xfffffffb]);
  const small = offsetsView(meta, 4, 2, 0x7fffffff);
  expect(small).toBeInstanceOf(Int32Array);
  expect(small[0]).toBe(0x7ffffffb);
  const large = offsetsView(meta, 4, 2, 0x80000000);
  expect(large).toBeInstanceOf(Uint32Array);
  expect([large[0], large[1]]).toEqual([0x7ffffffb, 0xfffffffb]);
});

describe('accessors', () => {
  let r: Record<string, unknown>;
  beforeAll(async () => {
    r = await run('accessors');
  });

  test('every accessor reads the bytes that went in, at every offset, in its byte order; read() copies what fits', () => {
    expect(r.filled).toBe(6);
    expect(r.lengths).toEqual([60, 61, 64, 99, 128, 1514]);
    // A pool under 2 GiB: its offsets viewed as signed words (offsetsView).
    expect(r.offsets).toBe('Int32Array');
    expect(r.reads).toEqual({ checked: 60 + 61 + 64 + 99 + 128 + 1514, wrong: { u8: 0, u16: 0, u32: 0, u32le: 0, read: 0 } });
    // de ad be ef at 16.
    expect(r.sample).toEqual({ u8: 0xde, u16: 0xdead, u32: 0xdeadbeef, u32le: 0xefbeadde });
    expect(r.readPart).toEqual({
      head: 10,
      bytes: range(0, 10).map((k) => (k * 7 + 1) & 0xff),
      tail: 5,
      tailBytes: range(55, 5).map((k) => (k * 7 + 1) & 0xff),
      atEnd: 0,
    });
  });

  test('every setter writes its bytes in its byte order: what leaves through a ring is what Burst.readBytes reads', () => {
    expect(r.handed).toBe(6);
    expect(r.written).toEqual([true, true, true, true, true, true]);
    // setU8 a5 at 0, setU16 beef at 2, setU32 cafef00d at 4, setU32le 11223344 at 8, write 01 02 03 04 at 12.
    expect(r.writtenHead).toEqual([0xa5, 8, 0xbe, 0xef, 0xca, 0xfe, 0xf0, 0x0d, 0x44, 0x33, 0x22, 0x11, 1, 2, 3, 4]);
  });

  test('outside the packet, a bad index or offset: refused with the reason, nothing written; the last bytes are reachable', () => {
    const outside = (from: number, to: number) => refused(new RegExp(`^bytes ${from}\\.\\.${to} of packet 0 are outside its 60 bytes$`));
    const index = (i: string) => refused(new RegExp(`^packet index ${i} is outside the vector's 6 packets \\(0\\.\\.5\\)$`));
    const offset = (o: string) => refused(new RegExp(`^offset ${o} must be an integer >= 0$`));
    expect(r.refused).toEqual({
      indexNegative: index('-1'),
      indexFraction: index('0.5'),
      indexNaN: index('NaN'),
      indexAtCount: index('6'),
      indexAtCapacity: index('16'),
      indexHuge: index('4294967296'),
      offsetNegative: offset('-1'),
      offsetFraction: offset('1.5'),
      offsetNaN: offset('NaN'),
      offsetString: offset('1'),
      offsetHuge: outside(4294967295, 4294967295),
      u8PastEnd: outside(60, 60),
      u16PastEnd: outside(59, 60),
      u32PastEnd: outside(57, 60),
      u32lePastEnd: outside(57, 60),
      setU8PastEnd: outside(60, 60),
      setU16PastEnd: outside(59, 60),
      setU32PastEnd: outside(57, 60),
      setU32lePastEnd: outside(57, 60),
      setU8Negative: index('-1'),
      readPastEnd: outside(61, 64),
      readNegative: offset('-1'),
      writePastEnd: outside(57, 60),
      writeNegative: offset('-2'),
      writeOtherIndex: index('7'),
    });
    expect(r.nothingWritten).toBe(true);
    const b = (k: number) => (k * 7 + 1) & 0xff;
    // The public arrays share one buffer, and none of what bounds an access is in it.
    expect(r.publicBuffers).toEqual({ shared: true, lengths: [60, 61, 64, 99, 128, 1514], pastEnd: outside(60, 60), lastByte: b(59) });
    expect(r.edges).toEqual({
      u8: b(59),
      u16: (b(58) << 8) | b(59),
      u32: ((b(56) << 24) | (b(57) << 16) | (b(58) << 8) | b(59)) >>> 0,
      u32le: ((b(59) << 24) | (b(58) << 16) | (b(57) << 8) | b(56)) >>> 0,
      write: 'no error',
    });
  });

  test('before fill, after send and after free every accessor is refused and every length is 0', () => {
    expect(r.beforeFill).toEqual(NO_PACKETS);
    expect(r.afterSend).toEqual({
      count: 0,
      lengths: [0, 0, 0, 0, 0, 0],
      u8: NO_PACKETS,
      u16: NO_PACKETS,
      u32: NO_PACKETS,
      u32le: NO_PACKETS,
      setU8: NO_PACKETS,
      setU16: NO_PACKETS,
      setU32: NO_PACKETS,
      setU32le: NO_PACKETS,
      read: NO_PACKETS,
      write: NO_PACKETS,
    });
    expect(r.freed).toBe(6);
    expect(r.afterFree).toEqual({ count: 0, length0: 0, u8: NO_PACKETS, write: NO_PACKETS });
    expect(r.inUseAtEnd).toBe(0);
  });
});

test("a packet of another pool, and an empty one, are not viewable and the accessors say why; both still go out and back to their pools", async () => {
  const r = await run('foreign-pool');
  const foreign = refused(/^packet 1 cannot be viewed in place: its data is not in mempool 'vfp_mine' \(it comes from pool 'vfp_other'/);
  const empty = refused(/^packet 3 cannot be viewed in place: it holds no bytes/);
  expect(r).toEqual({
    filled: 4,
    lengths: [64, 0, 64, 0],
    tags: [0, 2],
    u8: foreign,
    read: foreign,
    write: foreign,
    empty,
    emptyRead: empty,
    inUse: [3, 1],
    handed: 4,
    sinkTags: [0, 1, 2],
    inUseAtEnd: [0, 0],
  });
});

test('a vector made with bytes: false views no packet and says why; it routes and sends as ever', async () => {
  const r = await run('no-bytes');
  const noBytes = (i: number) => refused(new RegExp(`^packet ${i} cannot be viewed in place: this vector was made with bytes: false`));
  expect(r).toEqual({
    filled: 6,
    lengths: [0, 0, 0, 0, 0, 0],
    u8: noBytes(0),
    read: noBytes(5),
    setU32le: noBytes(2),
    handed: 6,
    even: [0, 2, 4],
    odd: [1, 3, 5],
    inUseAtEnd: 0,
  });
});

test('a frame longer than the data room (net_pcap chains mbufs) is not viewable, said why, and leaves port 1 whole', async () => {
  const sizes = [100, 1000, 60, 1514, 512];
  const frames = sizes.map((n, i) => Uint8Array.from({ length: n }, (_, k) => (k * 3 + i) & 0xff));
  const input = path.join(dir, 'segmented-in.pcap');
  const empty = path.join(dir, 'segmented-empty.pcap');
  const out0 = path.join(dir, 'segmented-out0.pcap');
  const out1 = path.join(dir, 'segmented-out1.pcap');
  writePcap(input, frames);
  writePcap(empty, []);
  const r = await run(
    'segmented',
    [`--vdev=net_pcap0,rx_pcap=${input},tx_pcap=${out0}`, `--vdev=net_pcap1,rx_pcap=${empty},tx_pcap=${out1}`],
    [String(frames.length)],
  );
  // 512 bytes of data per mbuf: 1000 bytes take 2, 1514 take 3.
  const segments = (i: number, n: number) => refused(new RegExp(`^packet ${i} cannot be viewed in place: it has ${n} segments; views show single-segment packets only`));
  expect(r).toEqual({
    filled: 5,
    lengths: [100, 0, 60, 0, 512],
    u8: ['no error', segments(1, 2), 'no error', segments(3, 3), 'no error'],
    read: segments(1, 2),
    setU32: segments(1, 2),
    handed: 5,
    inUse: 0,
  });
  expect(readPcap(out1).map((f) => Buffer.from(f).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
});

describe('safety (each in its own process: a crash fails the test)', () => {
  test('after cleanup(): every accessor E_CLOSED, nothing held, the raw memory detached', async () => {
    const r = await run('after-cleanup', ['--vdev=net_null0']);
    const closed = E('E_CLOSED');
    expect(r).toEqual({
      filled: 8,
      accessors: { u8: closed, u16: closed, u32: closed, u32le: closed, setU8: closed, setU16: closed, setU32: closed, setU32le: closed, read: closed, write: closed },
      length0: 0,
      count: 0,
      closed: true,
      fill: E('E_EAL_CLOSED'),
      send: E('E_EAL_CLOSED'),
      flush: E('E_EAL_CLOSED'),
      free: E('E_EAL_CLOSED'),
      close: 'no error',
      raw: { bytes: 0, byte0: null, view: { kind: 'TypeError', message: expect.stringMatching(/detached ArrayBuffer/) }, again: 0 },
    });
  });

  test("a named vector's close() leaves its zone to a memzone handle this process holds on it, for a reclaim once the handle is closed", async () => {
    expect(await run('zone-handle-at-close', ['--vdev=net_null0'])).toEqual({
      afterClose: { bytes: true, closed: false, lookup: 'no error', inUse: 0 },
      reclaimed: { requeued: 0, freed: 0 },
      lookup: E('ENOENT'),
    });
  });

  test("after the pool handle's close(): every accessor refused with the reason, the packets still go out", async () => {
    const r = await run('after-pool-close', ['--vdev=net_null0']);
    const gone = refused(/^packet 0 cannot be viewed in place: the handle of mempool 'vsp_pool' this vector views was closed/);
    expect(r).toEqual({
      filled: 8,
      accessors: { u8: gone, u16: gone, u32: gone, u32le: gone, setU8: gone, setU16: gone, setU32: gone, setU32le: gone, read: gone, write: gone },
      length0: 0,
      count: 8,
      raw: 0,
      fill: E('E_CLOSED'),
      handed: 8,
      inUse: 0,
    });
  });

  test('vectors collected while holding packets give them back (a named one its batch to the ring); a vector keeps its rings\' handles alive; one collected after cleanup() is harmless', async () => {
    const r = await run('collected', ['--vdev=net_null0']);
    expect(r).toEqual({
      heldInUse: 16 + 5 + 3,
      ringBusy: E('EBUSY'),
      afterCollection: { gone: true, inUse: 5, ringCount: 5, zone: E('ENOENT'), tags: range(0, 5) },
      ringsKept: { ringsGone: false, fill: 'no error', filled: 3, send: 'no error', tags: range(20, 3) },
      lateGone: true,
    });
  });

  test('the buffers behind the views and a caller\'s counters stay attached when transferred (structuredClone, postMessage)', async () => {
    const r = await run<{ before: number[]; after: number[] } & Record<string, unknown>>('untransferable');
    expect(r.before.every((n) => n > 0)).toBe(true);
    expect(r.after).toEqual(r.before);
    expect(r).toMatchObject({ tags: [7, 8, 9], handed: 3, counters: [3, 3], sink: [7, 8, 9] });
  });
});

test.each(['cleanup', 'exit'])("a secondary's vectors holding packets give them back when it leaves by %s: the pool in use back, a named vector's batch back in the ring", async (how) => {
  const prefix = uniquePrefix('vec-leave');
  const primary = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0', '--vdev=net_null0']), '--', 'serve']);
  const ready = await primary.waitForJson<{ inUse: number }>('READY');
  expect(ready.inUse).toBe(10);
  const secondary = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '1', '--proc-type=secondary']), '--', 'hold-and-leave', how]);
  expect(await secondary.waitForJson('HELD')).toEqual({ counts: [16, 10, 8], inUse: ready.inUse + 16 + 8 });
  if (how === 'cleanup') {
    expect(await secondary.waitForJson('LEFT')).toEqual({ counts: [0, 0, 0], closed: [true, true, true], u8: E('E_CLOSED') });
  }
  expect(await secondary.waitForExit()).toEqual({ code: 0, signal: null });
  expect(await primary.request('state', 'STATE')).toEqual({ inUse: ready.inUse, ring: 10, zone: E('ENOENT') });
  expect(await primary.request('drain', 'DRAINED')).toEqual({ tags: range(0, 10), inUse: 0 });
  primary.send('exit');
  await primary.waitForJson('CLEANED');
  expect(await primary.waitForExit()).toEqual({ code: 0, signal: null });
  expect(leftovers(prefix)).toEqual([]);
});

describe('bytes end to end in a secondary (net_pcap on veth pairs)', () => {
  const veths = new Veths('dc', vethTag(1), 2, 1);
  // Every length from 60 to 1514 that matters: the ends, around powers of two, the MTU.
  const lengths = [60, 61, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 1000, 1023, 1024, 1025, 1499, 1500, 1513, 1514];
  const N = lengths.length * 3;
  beforeAll(() => veths.create());
  afterAll(() => veths.destroy());

  test('bytes read through the views are the bytes that arrived; bytes written through them are exactly what leaves the port', async () => {
    const prefix = uniquePrefix('vec-wire');
    const vdevs = veths.vdevs().map((v) => `--vdev=${v}`);
    const primary = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0', ...vdevs]), '--', 'serve']);
    await primary.waitForJson('READY');
    const secondary = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '1', '--proc-type=secondary']), '--', 'wire']);
    await secondary.waitForJson('FORWARDING');
    const got = await exchange(veths, N, { lengths });
    const reads = await secondary.request<{ reads: Record<string, Array<{ byByte: string; copied: string }>>; received: number[]; sent: number[]; dropped: number[] }>('stop', 'RESULT');
    expect(await secondary.waitForExit()).toEqual({ code: 0, signal: null });
    const sentIn = [0, 1].map((tag) => expectedFrames(tag, N, { lengths }).map((hex) => Buffer.from(hex, 'hex')));
    // What the secondary read of each frame, byte by byte and in one copy, in arrival order per port.
    for (const p of [0, 1]) {
      const want = (sentIn[p] as Buffer[]).map((f) => digest(f));
      expect({ port: p, byByte: reads.reads[p]?.map((x) => x.byByte) }).toEqual({ port: p, byByte: want });
      expect({ port: p, copied: reads.reads[p]?.map((x) => x.copied) }).toEqual({ port: p, copied: want });
    }
    // What left each port: the frames of the other port as rewritten through the views, in order.
    expect(got.outOf(1)).toEqual((sentIn[0] as Buffer[]).map((f) => rewritten(f, 1).toString('hex')));
    expect(got.outOf(0)).toEqual((sentIn[1] as Buffer[]).map((f) => rewritten(f, 0).toString('hex')));
    expect(reads).toMatchObject({ received: [N, N], sent: [N, N], dropped: [0, 0] });
    primary.send('exit');
    await primary.waitForJson('CLEANED');
    expect(await primary.waitForExit()).toEqual({ code: 0, signal: null });
    expect(leftovers(prefix)).toEqual([]);
  });
});

/**
 * The fused forwarding primitives (RoundRobin, PortForwarder) and telemetry
 * snapshots, each in a real DPDK process. (The
 * telemetry socket itself is read in apps/client-server's end-to-end test.)
 */
import path from 'node:path';
import { assertCleanTeardown, ealArgs, leftovers, requireHugepages, runFixture, uniquePrefix } from '@mp/test-kit';

const FIXTURE = path.join(__dirname, 'fixtures', 'forward-process.ts');

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

async function run(role: string, extra: string[] = []): Promise<Record<string, unknown>> {
  const prefix = uniquePrefix(`fwd-${role}`);
  const r = await runFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0', ...extra]), '--', role]);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(leftovers(prefix)).toEqual([]);
  const m = /^RESULT (.*)$/m.exec(r.stdout);
  if (!m) throw new Error(`no RESULT line in:\n${r.stdout}`);
  return JSON.parse(m[1] as string) as Record<string, unknown>;
}

test('RoundRobin: one packet per ring in turn, the cursor carrying over to the next burst; a full ring drops its whole share', async () => {
  const r = await run('round-robin');
  expect(r).toMatchObject({
    first: 10,
    burstAfter: 0,
    cursorAfterFirst: 1,
    shares: [
      [0, 3, 6, 9],
      [1, 4, 7, 10],
      [2, 5, 8, 11],
    ],
    // 30 packets: 10 per ring, more than a ring of 8 holds (7), so every share is dropped.
    enqueuedOfThirty: 0,
    counts: [0, 0, 0],
    dropped: [10, 10, 10],
    enqueued: [4, 4, 4],
    inUseAfterDrop: 0,
    refusals: { empty: { code: 'EINVAL' }, elementRing: { code: 'EINVAL' }, index: { kind: 'RangeError' } },
    freedRing: { code: 'E_CLOSED' },
    closed: { code: 'E_CLOSED' },
  });
  expect((r.refusals as Record<string, { kind: string }>).notBurst?.kind).toBe('TypeError');
});

test('RoundRobin.poll: reads the ports in turn and distributes each burst, port index and cursor carrying over between calls, rx counted per port in shared memory', async () => {
  const r = await run('round-robin-poll', ['--vdev=net_null0', '--vdev=net_null1']);
  expect(r).toMatchObject({
    // one read of 4 from port 0 over 3 rings: r0 r1 r2 r0
    firstPoll: 4,
    afterOne: { counts: [2, 1, 1], cursor: 1, counters: [4, 0] },
    // port 1 then port 0 again: r1 r2 r0 r1, r2 r0 r1 r2
    twoMore: 8,
    afterThree: { counts: [4, 4, 4], cursor: 0, counters: [8, 4], received: [8, 4] },
    overflow: 240,
    // every packet received was enqueued or dropped (and freed)
    overflowed: { total: 252 },
    refusals: {
      noPorts: { code: 'EINVAL' },
      zeroPolls: { kind: 'RangeError' },
      tooManyPolls: { kind: 'RangeError' },
      noSuchPort: { code: 'ENODEV' },
      noSuchQueue: { code: 'EINVAL' },
      shortCounters: { code: 'EINVAL' },
      burstSize: { code: 'EINVAL' },
      receivedIndex: { kind: 'RangeError' },
    },
    stoppedPort: { code: 'E_PORT_STOPPED' },
    // two reads at the default burst size, 32
    ownReceived: 64,
    freedCounters: { poll: { code: 'E_CLOSED' }, received: { code: 'E_CLOSED' } },
    closed: { code: 'E_CLOSED' },
    inUseAtEnd: 0,
  });
  const o = r.overflowed as { counts: number[]; dropped: number[]; inUse: number };
  // each ring is full to within one share (1 or 2 packets of a read of 4), and the rings hold every packet in use
  for (const c of o.counts) expect(c).toBeGreaterThanOrEqual(63 - 2);
  expect(o.inUse).toBe(o.counts.reduce((a, b) => a + b, 0));
  expect(o.dropped.reduce((a, b) => a + b, 0)).toBe(252 - o.inUse);
});

test('PortForwarder: sends each packet out of the port paired with its input port, on its TX queue, counting per port id', async () => {
  const r = await run('port-forwarder', ['--vdev=net_null0', '--vdev=net_null1']);
  expect(r).toMatchObject({
    received: 6,
    // buffer of 4: the 4th packet sends the buffer, 2 wait for the flush
    sentWhileBuffering: 4,
    bufferedAfterSend: 2,
    flushed: 2,
    unroutable: 3,
    refusals: { noTxQueue: { code: 'EINVAL' }, noPort: { code: 'ENODEV' }, shortCounters: { code: 'EINVAL' }, noPairs: { code: 'EINVAL' } },
    bufferedBeforeFree: 2,
    afterFree: { code: 'E_CLOSED' },
    inUse: 0,
  });
  // 6 sent on port 1; the 2 still buffered at free() count as dropped on port 0
  expect(r.tx).toEqual([0, 6]);
  expect(r.queueCounts).toEqual([
    { name: 'tx_q0_packets', value: 0 },
    { name: 'tx_q1_packets', value: 6 },
  ]);
  expect(r.txDrop).toEqual([2, 0]);
});

test('PortForwarder: once the memzone holding its counters is freed, send and flush throw E_CLOSED instead of writing there; free() still returns its packets', async () => {
  const r = await run('forwarder-counters-gone', ['--vdev=net_null0']);
  expect(r).toEqual({
    inUseBuffered: 3,
    sendAfterOtherFreed: 0,
    bufferedAfterOther: 6,
    sendAfterFree: { code: 'E_CLOSED' },
    flushAfterFree: { code: 'E_CLOSED' },
    closed: true,
    inUseAfterFree: 0,
  });
});

test('PortForwarder.forward: takes up to max packets from its single-consumer source ring per call and forwards them like send', async () => {
  const r = await run('forwarder-forward', ['--vdev=net_null0', '--vdev=net_null1']);
  expect(r).toMatchObject({
    journalHeld: 'pff',
    // 8 from port 0 then 8 from port 1 in the ring: 5, then the other 11 (default max 32)
    firstTake: 5,
    secondTake: 11,
    emptyTake: 0,
    // buffers of 8: each filled with its 8 and went out during forward(), nothing left to flush
    flushed: 0,
    tx: [8, 8],
    refusals: {
      noSource: { code: 'EINVAL' },
      multiConsumer: { code: 'EINVAL' },
      elementRing: { code: 'EINVAL' },
      zeroMax: { kind: 'RangeError' },
      bigMax: { kind: 'RangeError' },
      sameName: { code: 'EBUSY' },
      reclaimLive: { code: 'EBUSY' },
      reclaimUnknown: { code: 'ENOENT' },
    },
    zonesAfterFree: [{ code: 'ENOENT' }, { code: 'ENOENT' }, { code: 'ENOENT' }],
    freedSource: { code: 'E_CLOSED' },
    inUse: 0,
  });
});

test('PortForwarder: packets still in its TX buffers at cleanup() go back to their pool, counted as dropped; the forwarder is closed', async () => {
  const r = await run('forwarder-at-cleanup', ['--vdev=net_null0']);
  expect(r).toEqual({
    bufferedBeforeCleanup: 3,
    inUseBeforeCleanup: 3,
    closedAfterCleanup: true,
    droppedAtCleanup: 3,
    sendAfterCleanup: { code: 'E_EAL_CLOSED' },
  });
});

test('telemetry commands: registered once, published snapshots validated before they reach C', async () => {
  const r = await run('telemetry');
  expect(r).toMatchObject({
    duplicate: { code: 'EEXIST' },
    badCommand: { code: 'EINVAL' },
    badKey: { code: 'EINVAL' },
    badValue: { code: 'EINVAL' },
    tooLong: { code: 'EINVAL' },
  });
});

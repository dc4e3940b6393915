/**
 * Named TX buffers and packet vectors in real processes: a secondary holding
 * packets in them is SIGKILLed (at rest, or in the middle of a send or right
 * after a fill, through the vector's failpoints); the primary's reclaim gives
 * exactly those packets back (to the ring they came from, in order, or to the
 * pool), and a process taking the names over settles them itself. Nobody
 * reclaims or takes over what a live process holds.
 */
import path from 'node:path';
import { assertCleanTeardown, ealArgs, requireHugepages, runFixture, startFixture, uniquePrefix, type Fixture } from '@mp/test-kit';

const FIXTURE = path.join(__dirname, 'fixtures', 'txbuffer-process.ts');

beforeAll(() => requireHugepages());
afterAll(async () => {
  await assertCleanTeardown();
});

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

function result<T>(stdout: string): T {
  const m = /^RESULT (.*)$/m.exec(stdout);
  if (!m) throw new Error(`no RESULT line in:\n${stdout}`);
  return JSON.parse(m[1] as string) as T;
}

describe('one primary (net_null port 0, a ring), secondaries that die holding packets', () => {
  const prefix = uniquePrefix('txbuf');
  const secondary = (args: string[]) => [...ealArgs(prefix, ['-l', '1', '--proc-type=secondary']), '--', ...args];
  let primary: Fixture;
  let base = 0;

  beforeAll(async () => {
    primary = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0', '--vdev=net_null0']), '--', 'primary']);
    base = (await primary.waitForJson<{ inUse: number }>('READY')).inUse;
  });

  afterAll(async () => {
    primary.send('exit');
    await primary.waitForJson('CLEANED');
    expect((await primary.waitForExit()).code).toBe(0);
  });

  test('bad names: each refused with its code', async () => {
    const ready = await primary.waitForJson<{ errors: Record<string, string>; ownZoneGone: string }>('READY');
    expect(ready.errors).toEqual({
      unknown: 'ENOENT',
      tooLong: 'EINVAL',
      nameNotString: 'EINVAL',
      notABuffer: 'EINVAL',
      createOverOtherZone: 'EEXIST',
      secondHandle: 'EBUSY',
      reclaimLive: 'EBUSY',
      vectorUnknown: 'ENOENT',
      vectorNotAVector: 'EINVAL',
      vectorOverBuffer: 'EEXIST',
      vectorOverOtherZone: 'EEXIST',
    });
    expect(ready.ownZoneGone).toBe('ENOENT');
  });

  test('a named TX buffer: reclaim frees exactly what it held; a replacement frees the rest and starts empty', async () => {
    const victim = startFixture(FIXTURE, secondary(['hold', 'txb_victim', '20']));
    const held = await victim.waitForJson<{ sent: number; length: number; inUse: number }>('HOLDING');
    expect(held).toEqual({ sent: 0, length: 20, inUse: base + 20 });
    victim.kill('SIGKILL');
    expect((await victim.waitForExit()).signal).toBe('SIGKILL');
    expect(await primary.request('reclaim txb_victim', 'RECLAIMED')).toEqual({ freed: 20, inUse: base, zoneGone: 'ENOENT' });

    const second = startFixture(FIXTURE, secondary(['hold', 'txb_again', '7']));
    expect(await second.waitForJson('HOLDING')).toEqual({ sent: 0, length: 7, inUse: base + 7 });
    second.kill('SIGKILL');
    await second.waitForExit();
    const run = await runFixture(FIXTURE, secondary(['reuse', 'txb_again']));
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result(run.stdout)).toEqual({ length: 0, dropped: 7, inUse: base, zoneAfterFree: 'ENOENT' });
  });

  /** The primary's reclaimPacketVector(name): refused while it holds a handle on the zone, then what the dead owner held given back and the zone freed. */
  async function expectReclaimed(name: string, gave: { requeued: number; freed: number; queued: number; inUse: number }): Promise<void> {
    expect(await primary.request(`reclaim-vector ${name}`, 'RECLAIMED_VECTOR')).toEqual({ withHandle: 'EBUSY', ...gave, zone: 'ENOENT', again: 'ENOENT' });
  }

  // A named vector killed after handing the first 5 of its batch of 20 to its named TX buffer.
  async function killedInSend(vector: string, buffer: string): Promise<void> {
    expect(await primary.request('fill 20', 'FILLED')).toEqual({ queued: 20, inUse: base + 20 });
    const dying = startFixture(FIXTURE, secondary(['vector-die', vector, buffer, '5']));
    expect(await dying.waitForJson('SENDING')).toEqual({ filled: 20 });
    expect(await dying.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(dying.stdout).not.toMatch(/SURVIVED/);
  }

  test('a named vector killed in the middle of a send: reclaim puts exactly the rest back in the ring, in order; reclaimTxBuffer frees exactly the chunk', async () => {
    await killedInSend('vx_a', 'txb_vx_a');
    // The 15 it had not handed on go back to the ring, in order; the 5 in the TX buffer are the buffer's to free.
    await expectReclaimed('vx_a', { requeued: 15, freed: 0, queued: 15, inUse: base + 20 });
    expect(await primary.request('reclaim txb_vx_a', 'RECLAIMED')).toEqual({ freed: 5, inUse: base + 15, zoneGone: 'ENOENT' });
    expect(await primary.request('drain', 'DRAINED')).toEqual({ tags: range(5, 15), inUse: base });
  });

  test('the same vector settled by a process taking both names over', async () => {
    await killedInSend('vx_b', 'txb_vx_b');
    const adopted = await runFixture(FIXTURE, secondary(['vector-adopt', 'vx_b', 'txb_vx_b']));
    expect({ code: adopted.code, stderr: adopted.code === 0 ? '' : adopted.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result(adopted.stdout)).toEqual({
      settled: { requeued: 15, freed: 0 },
      dropped: [5],
      sharedDropped: 5,
      discarded: 0,
      buffered: 0,
      inUse: base + 15,
      zones: ['ENOENT', 'ENOENT'],
    });
    expect(await primary.request('drain', 'DRAINED')).toEqual({ tags: range(5, 15), inUse: base });
  });

  test('a named vector whose ring was freed and made again under its name, its tail where the old one stood: reclaim frees what it had not handed on and leaves the new ring alone', async () => {
    await killedInSend('vx_r', 'txb_vx_r');
    const remade = await primary.request<{ tail: number; queued: number; inUse: number }>('remake-ring', 'REMADE');
    expect(remade).toMatchObject({ queued: 0, inUse: base + 20 });
    expect(remade.tail).toBeGreaterThan(0);
    // Not requeued into a ring that never listed them (its tail would pass its head): freed.
    await expectReclaimed('vx_r', { requeued: 0, freed: 15, queued: 0, inUse: base + 5 });
    expect(await primary.request('reclaim txb_vx_r', 'RECLAIMED')).toEqual({ freed: 5, inUse: base, zoneGone: 'ENOENT' });
    expect(await primary.request('drain', 'DRAINED')).toEqual({ tags: [], inUse: base });
  });

  test('a named vector killed inside its ring peek, before it counted the batch: reclaim puts the whole batch back and says so', async () => {
    expect(await primary.request('fill 20', 'FILLED')).toEqual({ queued: 20, inUse: base + 20 });
    const dying = startFixture(FIXTURE, secondary(['vector-die-in-peek', 'vx_g', 'txb_vx_g']));
    await dying.waitForJson('FILLING');
    expect(await dying.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(dying.stdout).not.toMatch(/SURVIVED/);
    await expectReclaimed('vx_g', { requeued: 20, freed: 0, queued: 20, inUse: base + 20 });
    expect(await primary.request('reclaim txb_vx_g', 'RECLAIMED')).toEqual({ freed: 0, inUse: base + 20, zoneGone: 'ENOENT' });
    expect(await primary.request('drain', 'DRAINED')).toEqual({ tags: range(0, 20), inUse: base });
  });

  // A named vector reading port 0, killed right after a fill.
  async function killedAfterFill(vector: string): Promise<void> {
    const dying = startFixture(FIXTURE, secondary(['port-vector-die', vector]));
    await dying.waitForJson('FILLING');
    expect(await dying.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(dying.stdout).not.toMatch(/SURVIVED/);
  }

  test('a named vector reading a port, killed right after a fill: reclaim, or a process taking the name over, frees exactly what it held', async () => {
    await killedAfterFill('vx_c');
    await expectReclaimed('vx_c', { requeued: 0, freed: 40, queued: 0, inUse: base });
    await killedAfterFill('vx_d');
    const portAdopted = await runFixture(FIXTURE, secondary(['port-vector-adopt', 'vx_d']));
    expect({ code: portAdopted.code, stderr: portAdopted.code === 0 ? '' : portAdopted.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result(portAdopted.stdout)).toEqual({ settled: { requeued: 0, freed: 40 }, discarded: 40, count: 0, inUse: base, zone: 'ENOENT' });
  });

  test('while the owner lives, nobody reclaims or takes over its vector or TX buffer (EBUSY), not even with no file descriptor left to read /proc with; once it is killed, reclaim gives back what it held', async () => {
    await primary.request('fill 30', 'FILLED');
    const holder = startFixture(FIXTURE, secondary(['vector-hold', 'vx_e', 'txb_vx_e', '4']));
    expect(await holder.waitForJson('HOLDING')).toEqual({ buffered: 4, held: 10, inUse: base + 14 });
    expect(await primary.request('busy vx_e txb_vx_e', 'BUSY')).toEqual({
      reclaimVector: 'EBUSY',
      reclaimBuffer: 'EBUSY',
      adoptVector: 'EBUSY',
      adoptBuffer: 'EBUSY',
      inUse: base + 14,
    });
    const noFds = await runFixture(FIXTURE, secondary(['busy-no-fds', 'vx_e', 'txb_vx_e', String(holder.pid)]));
    expect({ code: noFds.code, stderr: noFds.code === 0 ? '' : noFds.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result(noFds.stdout)).toEqual({
      reclaimVector: 'EBUSY',
      reclaimBuffer: 'EBUSY',
      adoptVector: 'EBUSY',
      adoptBuffer: 'EBUSY',
      ownerAlive: true,
      exhausted: true,
      inUse: base + 14,
    });
    holder.kill('SIGKILL');
    await holder.waitForExit();
    expect(await primary.request('reclaim-vector vx_e', 'RECLAIMED_VECTOR')).toMatchObject({ requeued: 10, freed: 0, queued: 10, inUse: base + 14 });
    expect(await primary.request('reclaim txb_vx_e', 'RECLAIMED')).toEqual({ freed: 4, inUse: base + 10, zoneGone: 'ENOENT' });
    expect(await primary.request('drain', 'DRAINED')).toEqual({ tags: range(20, 10), inUse: base });
  });

  test('zones whose creator marked them, recorded itself and was killed before publishing them are taken over as new; a zone without the mark is refused', async () => {
    for (const name of ['vx_f', 'txb_vx_f']) {
      const maker = startFixture(FIXTURE, secondary(['hold-zone', name]));
      await maker.waitForJson('HOLDING');
      maker.kill('SIGKILL');
      await maker.waitForExit();
    }
    expect(await primary.request('adopt-unpublished vx_f txb_vx_f', 'ADOPTED')).toEqual({
      settled: { requeued: 0, freed: 0 },
      discarded: 0,
      filled: 0,
      buffered: 0,
      dropped: 0,
      inUse: base,
      zones: ['ENOENT', 'ENOENT'],
    });
    // Without the mark, a dead owner in bytes 8-15 does not make a zone the addon's.
    const maker = startFixture(FIXTURE, secondary(['hold-zone', 'vx_g', 'unmarked']));
    await maker.waitForJson('HOLDING');
    maker.kill('SIGKILL');
    await maker.waitForExit();
    expect(await primary.request('refuse-foreign vx_g', 'REFUSED')).toEqual({ vector: 'EEXIST', buffer: 'EEXIST', unchanged: true });
  });
});

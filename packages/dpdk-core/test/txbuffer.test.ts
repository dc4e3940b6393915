/**
 * Named TX buffers in real processes: a secondary buffers packets in one (a
 * TxBuffer, then a PortForwarder's) and is SIGKILLed; the primary's
 * reclaimTxBuffer gives exactly those packets back to the pool, and a
 * replacement taking the name over starts empty.
 */
import path from 'node:path';
import { assertCleanTeardown, ealArgs, requireHugepages, runFixture, startFixture, uniquePrefix } from '@mp/test-kit';

const FIXTURE = path.join(__dirname, 'fixtures', 'txbuffer-process.ts');

beforeAll(() => requireHugepages());
afterAll(async () => {
  await assertCleanTeardown();
});

function result<T>(stdout: string): T {
  const m = /^RESULT (.*)$/m.exec(stdout);
  if (!m) throw new Error(`no RESULT line in:\n${stdout}`);
  return JSON.parse(m[1] as string) as T;
}

test('a killed secondary\'s named TX buffer: reclaim frees exactly what it held; a replacement frees the rest and starts empty', async () => {
  const prefix = uniquePrefix('txbuf');
  const primary = startFixture(FIXTURE, [...ealArgs(prefix, ['-l', '0', '--vdev=net_null0']), '--', 'primary']);
  const ready = await primary.waitForJson<{ inUse: number; errors: Record<string, string>; ownZoneGone: string }>('READY');
  expect(ready.errors).toEqual({
    unknown: 'ENOENT',
    tooLong: 'EINVAL',
    nameNotString: 'EINVAL',
    notABuffer: 'EINVAL',
    createOverOtherZone: 'EEXIST',
    secondHandle: 'EBUSY',
    reclaimLive: 'EBUSY',
  });
  expect(ready.ownZoneGone).toBe('ENOENT');

  const secondary = (args: string[]) => [...ealArgs(prefix, ['-l', '1', '--proc-type=secondary']), '--', ...args];

  const victim = startFixture(FIXTURE, secondary(['hold', 'txb_victim', '20']));
  const held = await victim.waitForJson<{ sent: number; length: number; inUse: number }>('HOLDING');
  expect(held).toEqual({ sent: 0, length: 20, inUse: ready.inUse + 20 });
  victim.kill('SIGKILL');
  expect((await victim.waitForExit()).signal).toBe('SIGKILL');
  primary.send('reclaim txb_victim');
  const reclaimed = await primary.waitForJson<{ freed: number; inUse: number; zoneGone: string }>('RECLAIMED');
  expect(reclaimed).toEqual({ freed: 20, inUse: ready.inUse, zoneGone: 'ENOENT' });

  const second = startFixture(FIXTURE, secondary(['hold', 'txb_again', '7']));
  expect(await second.waitForJson('HOLDING')).toEqual({ sent: 0, length: 7, inUse: ready.inUse + 7 });
  second.kill('SIGKILL');
  await second.waitForExit();
  const run = await runFixture(FIXTURE, secondary(['reuse', 'txb_again']));
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  expect(result(run.stdout)).toEqual({ length: 0, dropped: 7, inUse: ready.inUse, zoneAfterFree: 'ENOENT' });

  // A named PortForwarder's buffers are zones of the same kind, one per output port.
  const fwdVictim = startFixture(FIXTURE, secondary(['hold-forwarder', 'fwd_victim', '12']));
  expect(await fwdVictim.waitForJson('HOLDING')).toEqual({ received: 12, sent: 0, buffered: 12, inUse: ready.inUse + 12 });
  fwdVictim.kill('SIGKILL');
  await fwdVictim.waitForExit();
  expect(await primary.request('reclaim fwd_victim_0', 'RECLAIMED')).toEqual({ freed: 12, inUse: ready.inUse, zoneGone: 'ENOENT' });

  const fwdSecond = startFixture(FIXTURE, secondary(['hold-forwarder', 'fwd_again', '5']));
  expect(await fwdSecond.waitForJson('HOLDING')).toMatchObject({ buffered: 5, inUse: ready.inUse + 5 });
  fwdSecond.kill('SIGKILL');
  await fwdSecond.waitForExit();
  const fwdRun = await runFixture(FIXTURE, secondary(['reuse-forwarder', 'fwd_again']));
  expect({ code: fwdRun.code, stderr: fwdRun.code === 0 ? '' : fwdRun.stderr }).toEqual({ code: 0, stderr: '' });
  // What the dead forwarder held is freed and counted as dropped on that port.
  expect(result(fwdRun.stdout)).toEqual({ buffered: 0, dropped: 5, inUse: ready.inUse, zoneAfterFree: 'ENOENT' });

  // forward(): a batch of 5 routable packets then 15 unroutable ones; the
  // forwarder dies right after the 5 went into its TX buffer.
  expect(await primary.request('fill 5 15', 'FILLED')).toEqual({ received: 5, queued: 20, inUse: ready.inUse + 20 });
  const dying = startFixture(FIXTURE, secondary(['forward-die', 'fwd_batch']), { env: { ...process.env, DPDK_MP_FAILPOINT: 'forward-kill-after-chunk' } });
  await dying.waitForJson('FORWARDING');
  expect((await dying.waitForExit()).signal).toBe('SIGKILL');
  expect(dying.stdout).not.toMatch(/SURVIVED/);
  // The 5 are in the dead TX buffer, the 15 back in the ring; nothing freed twice, nothing lost.
  expect(await primary.request('reclaim-forwarder fwd_batch', 'RECLAIMED_FORWARDER')).toEqual({
    reclaimed: 5,
    requeued: 15,
    queued: 15,
    inUse: ready.inUse + 15,
    zones: ['ENOENT', 'ENOENT'],
    again: 'ENOENT',
  });
  expect(await primary.request('drain', 'DRAINED')).toEqual({ n: 15, inUse: ready.inUse });

  // Without the failpoint the whole batch goes: the 5 stay buffered, the 15 are freed as unroutable.
  await primary.request('fill 5 15', 'FILLED');
  const survivor = startFixture(FIXTURE, secondary(['forward-die', 'fwd_whole']));
  expect(await survivor.waitForJson('SURVIVED')).toEqual({ taken: 20, buffered: 5 });
  survivor.kill('SIGKILL');
  await survivor.waitForExit();
  expect(await primary.request('reclaim-forwarder fwd_whole', 'RECLAIMED_FORWARDER')).toMatchObject({ reclaimed: 5, requeued: 0, queued: 0, inUse: ready.inUse });

  primary.send('exit');
  await primary.waitForJson('CLEANED');
  expect((await primary.waitForExit()).code).toBe(0);
});

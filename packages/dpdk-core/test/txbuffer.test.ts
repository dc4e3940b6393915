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

  primary.send('exit');
  await primary.waitForJson('CLEANED');
  expect((await primary.waitForExit()).code).toBe(0);
});

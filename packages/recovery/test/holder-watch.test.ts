/**
 * HolderWatch's decisions over holders whose liveness is given (no EAL: the
 * owned slots are stand-ins that report a dead or a live holder): which
 * lcores count as in use when a dead holder's resources are reclaimed, and
 * which failures leave its slot held for another try.
 */
import { spawnSync } from 'node:child_process';
import { dpdkError } from '@mp/dpdk-core';
import type { OwnedSlot } from '@mp/mp-ring';
import { HolderWatch, customResource, type Holder, type HolderEvent, type Resource } from '../src';

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  return spawnSync('true').pid as number;
}

function holder(name: string, pid: number, alive: boolean, lcore: number, active: boolean, resources: Resource[], freed: boolean[]): Holder {
  const owner = { read: () => ({ generation: 1, pid }), holderPid: () => pid, holderAlive: () => alive } as unknown as OwnedSlot;
  return { name, owner, lcore: () => lcore, active: () => active, reclaiming: () => undefined, resources, free: (_dead, reclaimed) => freed.push(reclaimed) };
}

test("a holder still joining on a dead holder's lcore id does not make it 'in use': the repair it waits for is not skipped", async () => {
  const seen: boolean[] = [];
  const freed: boolean[] = [];
  const dead = holder('client 0', deadPid(), false, 5, true, [customResource('pool cache', (ctx) => void seen.push(ctx.lcoreInUse(5)))], freed);
  const joining = holder('client 1', process.pid, true, 5, false, [], []);
  const running = holder('client 2', process.pid, true, 6, true, [], []);
  const events: HolderEvent[] = [];
  const watch = new HolderWatch([dead, joining, running], { onEvent: (e) => events.push(e) });
  await watch.check();
  expect(seen).toEqual([false]);
  expect(freed).toEqual([true]);
  expect(events.map((e) => e.type)).toEqual(['reclaimed']);
  // An active live holder on the id does count.
  const seen2: boolean[] = [];
  const dead2 = holder('client 3', deadPid(), false, 6, true, [customResource('pool cache', (ctx) => void seen2.push(ctx.lcoreInUse(6)))], []);
  await new HolderWatch([dead2, running], { onEvent: () => undefined }).check();
  expect(seen2).toEqual([true]);
});

test.each(['EBUSY', 'EAGAIN'])('a resource answering %s leaves the dead holder\'s slot held, told once, tried again on the next check', async (code) => {
  const freed: boolean[] = [];
  let tries = 0;
  const dead = holder('client 0', deadPid(), false, 5, true, [
    customResource('named vector', () => {
      tries++;
      throw dpdkError(code, 'reclaimPacketVector', 'not yet');
    }),
  ], freed);
  const events: HolderEvent[] = [];
  const watch = new HolderWatch([dead], { onEvent: (e) => events.push(e) });
  await watch.check();
  await watch.check();
  expect(tries).toBe(2);
  expect(freed).toEqual([]);
  expect(events.map((e) => e.type)).toEqual(['waiting']);
});

test('a resource failing for good frees the slot as not reclaimed, the failed resource named', async () => {
  const freed: boolean[] = [];
  const dead = holder('client 0', deadPid(), false, 5, true, [
    customResource('tx buffers', () => {
      throw dpdkError('EINVAL', 'reclaimTxBuffer', 'not a TX buffer');
    }),
  ], freed);
  const events: HolderEvent[] = [];
  await new HolderWatch([dead], { onEvent: (e) => events.push(e) }).check();
  expect(freed).toEqual([false]);
  expect(events).toMatchObject([{ type: 'failed', label: 'tx buffers', error: { code: 'EINVAL' } }]);
});

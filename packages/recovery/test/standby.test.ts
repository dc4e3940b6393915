/**
 * Fast recovery with @mp/recovery: a dead slave's warm standby is promoted
 * (only after the dead process was reclaimed) while its pair is paused and
 * resumed instead of restarted; standbys that die or hang are replaced.
 */
import path from 'node:path';
import { assertCleanTeardown, ealArgs, requireHugepages, startFixture, uniquePrefix, type Fixture } from '@mp/test-kit';

import { alive, events, is, waitEvent } from './events';

const MASTER = path.join(__dirname, 'fixtures', 'master.ts');

beforeAll(() => {
  requireHugepages();
});

afterAll(async () => {
  await assertCleanTeardown();
});

function startPair(options: Record<string, unknown> = {}): Fixture {
  const slaves = [
    { name: 'p0', mode: 'busy', lcore: { id: 1, cpu: 1 }, dependsOn: ['p1'], standby: true, onDependencyExit: 'pause' },
    { name: 'p1', mode: 'busy', lcore: { id: 2, cpu: 1 }, dependsOn: ['p0'], standby: true, onDependencyExit: 'pause' },
  ];
  return startFixture(MASTER, [...ealArgs(uniquePrefix('sby'), ['-l', '0']), '--', JSON.stringify({ slaves, options })]);
}

async function shutdown(master: Fixture): Promise<void> {
  master.send('shutdown');
  await master.waitForJson('SHUTDOWN');
  expect(await master.waitForExit()).toEqual({ code: 0, signal: null });
}

test('a killed slave is replaced by its standby after reclaim, its pair is paused and resumed (not restarted), and a new standby follows', async () => {
  // A generous ACK timeout: 100 ms is the quiet-machine promise, measured by the master-slave bench.
  const master = startPair({ ackTimeoutMs: 2000 });
  await master.waitForJson('STARTED');
  // start() resolves only when the standbys are attached too.
  const standby0 = (await waitEvent(master, is('standby-ready', 'p0'))).pid as number;
  await waitEvent(master, is('standby-ready', 'p1'));
  const p0 = (await waitEvent(master, is('ready', 'p0'))).pid as number;
  const p1 = (await waitEvent(master, is('ready', 'p1'))).pid as number;
  await master.waitForLine(new RegExp(`^LOOPING .*"pid":${p0}`));
  // The standby is attached but idle: it never entered the busy loop.
  expect(master.stdoutLines.some((l) => l.startsWith('LOOPING') && l.includes(`"pid":${standby0}`))).toBe(false);

  process.kill(p0, 'SIGKILL');
  const stop = await waitEvent(master, is('stop', 'p1'));
  expect(stop).toMatchObject({ pid: p1, mode: 'pause', outcome: 'acked' });
  const rec = await waitEvent(master, is('recovered'));
  expect(rec).toMatchObject({ crashed: ['p0'], affected: ['p0', 'p1'], restarted: ['p0'], promoted: ['p0'], resumed: ['p1'] });
  const promoted = await waitEvent(master, is('ready', 'p0'), 2);
  expect(promoted).toMatchObject({ pid: standby0, lcore: 1, promoted: true });
  await master.waitForLine(new RegExp(`^ACTIVE .*"pid":${standby0}`));
  await master.waitForLine(new RegExp(`^LOOPING .*"pid":${standby0}`));
  expect(await waitEvent(master, is('resume', 'p1'))).toMatchObject({ pid: p1, outcome: 'acked' });
  await master.waitForLine(new RegExp(`^RESUMED .*"pid":${p1}`));

  // Order: the dead process is reclaimed (its lcore not counted as in use by
  // the pinned standby of the same id) before the standby is promoted.
  const all = events(master);
  const reclaimAt = all.findIndex(is('reclaim', 'p0'));
  const promotedAt = all.findIndex((e) => e.type === 'ready' && e.promoted === true);
  expect(reclaimAt).toBeGreaterThan(-1);
  expect(reclaimAt).toBeLessThan(promotedAt);
  expect(all[reclaimAt]?.resources).toEqual([{ label: 'marker p0', detail: { lcore: 1, lcoreInUse: false, killed: true } }]);
  // The pair was neither reclaimed nor restarted: same process throughout.
  expect(all.filter(is('reclaim', 'p1'))).toHaveLength(0);
  expect(all.filter(is('ready', 'p1'))).toHaveLength(1);
  expect(alive(p1)).toBe(true);

  // A new standby for p0 comes up in the background.
  const next = await waitEvent(master, is('standby-ready', 'p0'), 2);
  expect([p0, standby0]).not.toContain(next.pid);

  // Killed again at once: the next standby is promoted (waited for if it is still attaching).
  process.kill(standby0, 'SIGKILL');
  expect(await waitEvent(master, is('recovered'), 2)).toMatchObject({ crashed: ['p0'], promoted: ['p0'], resumed: ['p1'] });
  expect(await waitEvent(master, is('ready', 'p0'), 3)).toMatchObject({ pid: next.pid, promoted: true });
  await waitEvent(master, is('standby-ready', 'p0'), 3);

  master.send('status');
  const status = await master.waitForJson<Array<{ name: string; status: string; pid: number; restarts: number; standby: { status: string } | null }>>('STATUS');
  expect(status.map((s) => [s.name, s.status, s.pid, s.restarts, s.standby?.status])).toEqual([
    ['p0', 'running', next.pid, 2, 'idle'],
    ['p1', 'running', p1, 0, 'idle'],
  ]);
  await shutdown(master);
  const spawned = events(master).filter(is('spawn')).map((e) => e.pid as number);
  expect(spawned.filter(alive)).toEqual([]);
  expect(events(master).filter(is('standby-exit')).map((e) => [e.name, e.reason]).sort()).toEqual([
    ['p0', 'stopped'],
    ['p1', 'stopped'],
  ]);
});

test('a standby that dies or hangs is replaced without touching the running slave', async () => {
  const master = startPair({ heartbeatTimeoutMs: 300 });
  await master.waitForJson('STARTED');
  const active = (await waitEvent(master, is('ready', 'p0'))).pid as number;
  const sb1 = (await waitEvent(master, is('standby-ready', 'p0'))).pid as number;
  process.kill(sb1, 'SIGKILL');
  expect(await waitEvent(master, is('standby-exit', 'p0'))).toMatchObject({ pid: sb1, signal: 'SIGKILL', reason: 'crashed', respawnInMs: 0 });
  const sb2 = (await waitEvent(master, is('standby-ready', 'p0'), 2)).pid as number;
  expect(sb2).not.toBe(sb1);
  // A stopped standby's idle heartbeat goes silent: hung, killed, replaced.
  process.kill(sb2, 'SIGSTOP');
  expect(await waitEvent(master, is('hang', 'p0'))).toMatchObject({ pid: sb2 });
  expect(await waitEvent(master, is('standby-exit', 'p0'), 2)).toMatchObject({ pid: sb2, signal: 'SIGKILL', reason: 'hung' });
  await waitEvent(master, is('standby-ready', 'p0'), 3);
  expect(events(master).filter(is('exit'))).toHaveLength(0);
  expect(events(master).filter(is('ready', 'p0')).map((e) => e.pid)).toEqual([active]);
  expect(alive(active)).toBe(true);
  await shutdown(master);
});

test('a dependent that does not ACK the PAUSE is killed and restarted with the group, while the dead slave still gets its standby', async () => {
  const slaves = [
    { name: 'a', mode: 'busy', lcore: { id: 1, cpu: 1 }, standby: true },
    { name: 'deaf', mode: 'deaf', lcore: { id: 2, cpu: 1 }, dependsOn: ['a'], onDependencyExit: 'pause' },
  ];
  const master = startFixture(MASTER, [...ealArgs(uniquePrefix('sby'), ['-l', '0']), '--', JSON.stringify({ slaves, options: { ackTimeoutMs: 50 } })]);
  await master.waitForJson('STARTED');
  const a = (await waitEvent(master, is('ready', 'a'))).pid as number;
  const standby = (await waitEvent(master, is('standby-ready', 'a'))).pid as number;
  const deaf = (await waitEvent(master, is('ready', 'deaf'))).pid as number;
  process.kill(a, 'SIGKILL');
  expect(await waitEvent(master, is('stop', 'deaf'))).toMatchObject({ pid: deaf, mode: 'pause', outcome: 'ack-timeout' });
  expect(await waitEvent(master, is('exit', 'deaf'))).toMatchObject({ pid: deaf, signal: 'SIGKILL', reason: 'ack-timeout' });
  expect(await waitEvent(master, is('recovered'))).toMatchObject({ crashed: ['a'], restarted: ['a', 'deaf'], promoted: ['a'], resumed: [] });
  expect(await waitEvent(master, is('ready', 'a'), 2)).toMatchObject({ pid: standby, promoted: true });
  expect(events(master).filter(is('reclaim')).map((e) => e.name).sort()).toEqual(['a', 'deaf']);
  const again = (await waitEvent(master, is('ready', 'deaf'), 2)).pid as number;
  expect(again).not.toBe(deaf);
  await shutdown(master);
  expect([a, standby, deaf, again].filter(alive)).toEqual([]);
});

test('a standby that cannot be started (no lcore id left to lease) is reported; the slave runs on without one and the primary lives', async () => {
  const slaves = [{ name: 'f', mode: 'busy', lcore: { floating: true, cpus: '0-1' }, standby: true }];
  const master = startFixture(MASTER, [...ealArgs(uniquePrefix('sby'), ['-l', '0']), '--', JSON.stringify({ slaves, allocatorIds: [5] })]);
  await master.waitForJson('STARTED');
  expect(await waitEvent(master, is('ready', 'f'))).toMatchObject({ lcore: 5 });
  expect(await waitEvent(master, is('standby-error', 'f'))).toMatchObject({ error: { code: 'ENOSPC' } });
  master.send('status');
  expect(await master.waitForJson<Array<{ name: string; status: string }>>('STATUS')).toMatchObject([{ name: 'f', status: 'running' }]);
  await shutdown(master);
});

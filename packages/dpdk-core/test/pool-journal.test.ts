/**
 * The pool activity journal (native/activity.h) and the exact repair it
 * makes possible (native/mempool_repair.cc), in real processes: a secondary
 * loops one pool activity on net_null ports while another forwards beside
 * it, and dies at a failpoint of the journaled code or by SIGKILL at a
 * random moment (inside DPDK's calls most of the time); the primary repairs
 * its lcore, reclaims its named vector and TX buffer, and the one-owner
 * audit must find every buffer exactly once: 0 lost, 0 listed twice; at the
 * end the pool is full again and every buffer can be allocated.
 */
import { assertCleanTeardown, requireHugepages } from '@mp/test-kit';
import { ACTIVITIES, JournalGroup, type Activity, type Settled } from './fixtures/journal-group';

beforeAll(() => requireHugepages());

afterAll(async () => {
  await assertCleanTeardown();
});

const SIZE = 8191;
const LCORE = 5;
const clean = { duplicates: 0, lost: 0, foreign: 0, settled: true };

/** A victim killed by its failpoint, then settled. */
async function diesAt(g: JournalGroup, name: string, activity: Activity, failpoint: string, skip: number): Promise<Settled> {
  const v = g.victim(LCORE, name, activity, failpoint, skip);
  const { pid } = await v.waitForJson<{ pid: number }>('RUNNING', 60_000);
  expect(await v.waitForExit(60_000)).toEqual({ code: null, signal: 'SIGKILL' });
  return g.settle(LCORE, pid, name);
}

function expectExact(s: Settled): void {
  expect(s.repair).toMatchObject({ lost: 0, discarded: 0, reasons: [] });
  expect(s.repair.outcome).not.toBe('unrepairable');
  expect(s.repair.consumer).not.toBe('unrepairable');
  expect(s.audit).toMatchObject(clean);
}

/**
 * A group for one describe block: started before its tests, and at the end
 * its pool must be full again with every buffer allocatable at once, but for
 * the buffers its repairs reported lost (`reportedLost`, 0 unless a test
 * makes a repair lose some).
 */
function groupFor(tag: string, reportedLost: () => number = () => 0): () => JournalGroup {
  let g: JournalGroup | undefined;
  beforeAll(async () => {
    g = await JournalGroup.start(tag, SIZE);
  }, 120_000);
  afterAll(async () => {
    if (g === undefined) return;
    const end = await g.finish();
    const lost = reportedLost();
    expect(end.audit).toMatchObject({ ...clean, lost, size: SIZE, available: SIZE - lost });
    expect(end.exhausted).toEqual({ got: SIZE - lost, availableAfter: 0, available: SIZE - lost });
    await g.exit();
  }, 120_000);
  return () => {
    if (g === undefined) throw new Error(`the ${tag} group did not start`);
    return g;
  };
}

describe('a victim killed at each failpoint of the journaled pool calls', () => {
  const group = groupFor('jfail');

  // [activity, failpoint, what the repair must have done]
  const cases: Array<[Activity, string, Partial<Settled['repair']>]> = [
    ['rx', 'get-recorded', { activity: 'get' }],
    ['rx', 'get-partial', { activity: 'get' }],
    ['rx', 'get-done', { activity: 'get' }],
    ['rx', 'refill-reserving', { activity: 'refill' }],
    ['rx', 'refill-cas', { activity: 'refill', judged: true, consumer: 'republished' }],
    ['rx', 'refill-copied', { activity: 'refill', consumer: 'republished' }],
    ['rx', 'refill-published', { activity: 'refill' }],
    ['rx', 'flush-reserving', { activity: 'flush' }],
    ['rx', 'flush-cas', { activity: 'flush', judged: true, outcome: 'published' }],
    ['rx', 'flush-copied', { activity: 'flush', outcome: 'published' }],
    ['rx', 'flush-emptied', { activity: 'flush', outcome: 'published' }],
    ['rx', 'flush-published', { activity: 'flush' }],
    ['rx', 'put-started', { activity: 'put' }],
    ['rx', 'put-partial', { activity: 'put' }],
    ['drop', 'put-recorded', { activity: 'put', freed: 0 }],
    ['drop', 'put-started', { activity: 'put' }],
    ['drop', 'put-partial', { activity: 'put' }],
    ['drop', 'put-done', { activity: 'put' }],
    ['tx', 'put-recorded', { activity: 'put', freed: 0 }],
    ['tx', 'put-started', { activity: 'put', freed: 32 }],
    ['tx', 'put-partial', { activity: 'put' }],
    ['tx', 'put-done', { activity: 'put' }],
    ['tx', 'hand-counted', { activity: 'hand-over', freed: 32 }],
    ['mix', 'hand-counted', { activity: 'hand-over' }],
    ['txrun', 'put-started', { activity: 'put' }],
    ['txrun', 'put-partial', { activity: 'put' }],
    ['direct', 'put-started', { activity: 'put' }],
    ['direct', 'put-partial', { activity: 'put' }],
    ['ring', 'put-started', { activity: 'put' }],
    ['ring', 'put-partial', { activity: 'put' }],
    ['ring', 'enqueue-cas', { activity: 'put', judged: true }],
    ['ring', 'enqueue-copied', { activity: 'put' }],
  ];
  test.each(cases)('%s, killed at %s: nothing lost, nothing twice', async (activity, failpoint, expected) => {
    const s = await diesAt(group(), `f${activity}${failpoint.replace('-', '')}`.slice(0, 24), activity, failpoint, 7);
    expectExact(s);
    expect(s.repair).toMatchObject(expected);
    if (failpoint === 'put-partial') expect(s.repair.completed).toBeGreaterThan(0);
  }, 120_000);

  test("a process started on a dead victim's lcore id before its repair (a client joining on it) leaves the journal alone: the repair is still exact", async () => {
    const g = group();
    const v = g.victim(LCORE, 'fjoinedvictim', 'tx', 'put-started', 7);
    const { pid } = await v.waitForJson<{ pid: number }>('RUNNING', 60_000);
    expect(await v.waitForExit(60_000)).toEqual({ code: null, signal: 'SIGKILL' });
    // EAL up as the same lcore id, its vectors made, waiting: it makes no pool call.
    const { victim: joiner, pid: joinerPid } = await g.waitingVictim(LCORE, 'fjoiner', 'rx');
    const s = await g.settle(LCORE, pid, 'fjoinedvictim');
    expectExact(s);
    expect(s.repair).toMatchObject({ activity: 'put', freed: 32 });
    joiner.kill('SIGKILL');
    await joiner.waitForExit(60_000);
    // It never took the record (the victim's, repaired) but waited on it: the record still describes
    // the cache, so its repair is exact too; its vectors are empty.
    const j = await g.settle(LCORE, joinerPid, 'fjoiner');
    expect(j.repair).toMatchObject({ activity: 'idle', objects: 0, lost: 0, discarded: 0, reasons: [] });
    expect(j.audit).toMatchObject(clean);
  }, 120_000);

  test("nor does one started on the lcore id of a victim killed between pool calls: the repair is not refused as a live process's", async () => {
    const g = group();
    const { victim: v, pid } = await g.waitingVictim(LCORE, 'fidlevictim', 'rx');
    v.kill('SIGKILL');
    await v.waitForExit(60_000);
    const { victim: joiner, pid: joinerPid } = await g.waitingVictim(LCORE, 'fidlejoiner', 'rx');
    // Alive, the waiting joiner is not to be repaired.
    expect(await g.primary.request(`repair ${LCORE} ${joinerPid}`, 'REPAIR')).toMatchObject({ error: { code: 'EBUSY' } });
    for (const [who, name] of [[pid, 'fidlevictim'], [joinerPid, 'fidlejoiner']] as const) {
      if (who === joinerPid) {
        joiner.kill('SIGKILL');
        await joiner.waitForExit(60_000);
      }
      const s = await g.settle(LCORE, who, name);
      expect(s.repair).toMatchObject({ activity: 'idle', lost: 0, discarded: 0, reasons: [] });
      expect(s.audit).toMatchObject(clean);
    }
  }, 120_000);
});

describe('victims killed at random moments under traffic', () => {
  const group = groupFor('jrand');

  test('50 SIGKILLs, each activity in turn: every repair exact, every audit clean', async () => {
    const seen = { judged: 0, completed: 0, freed: 0, retries: 0 };
    for (let kill = 0; kill < 50; kill++) {
      const activity = ACTIVITIES[kill % ACTIVITIES.length] as Activity;
      const name = `r${kill}`;
      const g = group();
      const v = g.victim(LCORE, name, activity);
      const { pid } = await v.waitForJson<{ pid: number }>('RUNNING', 60_000);
      await new Promise((r) => setTimeout(r, Math.random() * 40));
      v.kill('SIGKILL');
      expect(await v.waitForExit(60_000)).toEqual({ code: null, signal: 'SIGKILL' });
      const s = await g.settle(LCORE, pid, name);
      expect({ kill, activity, repair: s.repair, audit: s.audit }).toMatchObject({
        repair: { lost: 0, reasons: [] },
        audit: clean,
      });
      seen.judged += s.repair.judged ? 1 : 0;
      seen.completed += s.repair.completed;
      seen.freed += s.repair.freed;
      seen.retries += s.retries;
    }
    // The kills landed inside DPDK's calls: puts half done, packets not reached yet.
    expect(seen.completed + seen.freed).toBeGreaterThan(0);
  }, 900_000);
});

describe('the order and the owner the journal enforces', () => {
  const group = groupFor('jorder');

  test("a dead victim's TX buffer is reclaimed only after the repair (EAGAIN before), and then exactly", async () => {
    const g = group();
    const v = g.victim(LCORE, 'order', 'tx', 'put-started', 3);
    const { pid } = await v.waitForJson<{ pid: number }>('RUNNING', 60_000);
    await v.waitForExit(60_000);
    // The journal says the dead flush was on one of its TX buffers' packets.
    const early = await g.primary.request<Settled['reclaimed']>('reclaim order', 'RECLAIMED');
    expect(early.txBuffers).toContainEqual({ error: expect.objectContaining({ code: 'EAGAIN' }) });
    const s = await g.settle(LCORE, pid, 'order');
    expectExact(s);
    expect(s.repair).toMatchObject({ activity: 'put', freed: 32 });
    expect(s.reclaimed.txBuffers).not.toContainEqual({ error: expect.anything() });
  }, 120_000);

  test("a live process's lcore is not repaired (EBUSY), whatever pid the caller names; a record of another pid is not used", async () => {
    const g = group();
    const { victim: v, pid } = await g.waitingVictim(LCORE, 'live', 'mix');
    v.send('go');
    await v.waitForJson('RUNNING', 60_000);
    expect(await g.primary.request(`repair ${LCORE}`, 'REPAIR')).toMatchObject({ error: { code: 'EBUSY' } });
    // Naming another (dead) process does not get past it: the cache is the live one's.
    expect(await g.primary.request(`repair ${LCORE} ${pid + 1000000}`, 'REPAIR')).toMatchObject({ error: { code: 'EBUSY' } });
    v.kill('SIGKILL');
    await v.waitForExit(60_000);
    expectExact(await g.settle(LCORE, pid, 'live'));
    // Told about another process, the repair does not take this record for its journal.
    expect(await g.primary.request(`repair ${LCORE} ${pid + 1000000}`, 'REPAIR')).toMatchObject({ activity: 'none', objects: 0 });
  }, 120_000);

  // How the owner before the promoted standby left: killed while it ran,
  // then repaired; or exited by itself (cleanup released its record).
  test.each(['killed', 'exited'] as const)(
    "a standby started after its lcore's owner %s does not take the record from the standby promoted before it: the promoted one's calls are journaled and its repair exact",
    async (how) => {
      const g = group();
      const { victim: first, pid: firstPid } = await g.waitingVictim(LCORE, `sb${how}first`, 'rx');
      if (how === 'killed') {
        first.send('go');
        await first.waitForJson('RUNNING', 60_000);
      }
      // A warm standby: attached while the first lives, no pool call yet.
      const { victim: promoted, pid: promotedPid } = await g.waitingVictim(LCORE, `sb${how}promoted`, 'rx');
      if (how === 'killed') {
        first.kill('SIGKILL');
        expect(await first.waitForExit(60_000)).toEqual({ code: null, signal: 'SIGKILL' });
        expect(await g.settle(LCORE, firstPid, `sb${how}first`)).toMatchObject({ repair: { lost: 0, reasons: [] }, audit: clean });
      } else {
        first.send('exit');
        expect(await first.waitForExit(60_000)).toEqual({ code: 0, signal: null });
        await g.primary.request(`reclaim sb${how}first`, 'RECLAIMED');
      }
      // The next standby attaches before the promoted one's first pool call
      // (a busy CPU's order): the record stays as the first left it, the
      // promoted one waiting on it.
      const { victim: next, pid: nextPid } = await g.waitingVictim(LCORE, `sb${how}next`, 'rx');
      const left = how === 'killed' ? { pid: firstPid, repaired: true } : { pid: 0 };
      expect(await g.primary.request(`activity ${LCORE}`, 'ACTIVITY')).toMatchObject({ ...left, waiting: promotedPid });
      promoted.send('go');
      await promoted.waitForJson('RUNNING', 60_000);
      // RUNNING comes just before its first pool call, which takes the record.
      const deadline = Date.now() + 10_000;
      let record = await g.primary.request<{ pid: number; waiting: number }>(`activity ${LCORE}`, 'ACTIVITY');
      while (record.pid !== promotedPid && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        record = await g.primary.request(`activity ${LCORE}`, 'ACTIVITY');
      }
      expect(record).toMatchObject({ pid: promotedPid, waiting: 0 });
      promoted.kill('SIGKILL');
      await promoted.waitForExit(60_000);
      const promotedSettled = await g.settle(LCORE, promotedPid, `sb${how}promoted`);
      expect(promotedSettled).toMatchObject({ repair: { lost: 0, reasons: [] }, audit: clean });
      expect(promotedSettled.repair.activity).not.toBe('none');
      next.kill('SIGKILL');
      await next.waitForExit(60_000);
      expect(await g.settle(LCORE, nextPid, `sb${how}next`)).toMatchObject({ repair: { lost: 0, discarded: 0 }, audit: clean });
    },
    120_000,
  );
});

describe('a repair told about the wrong pid before the right one', () => {
  let lost = 0;
  const group = groupFor('jwrong', () => lost);

  test("the rule of maxPut loses what it cannot prove stored, and says so; the dead owner's own repair after it frees nothing twice", async () => {
    const g = group();
    const v = g.victim(LCORE, 'wrongpid', 'tx', 'put-started', 3);
    const { pid } = await v.waitForJson<{ pid: number }>('RUNNING', 60_000);
    expect(await v.waitForExit(60_000)).toEqual({ code: null, signal: 'SIGKILL' });
    // Another pid (a process that ran as this lcore id with no record of its
    // own, such as a C client, as far as the repair can tell): the dead
    // owner's record does not describe its cache, so it is not used.
    const wrong = await g.primary.request<Settled['repair']>(`repair ${LCORE} ${pid + 1000000}`, 'REPAIR');
    expect(wrong).toMatchObject({ activity: 'none', completed: 0, freed: 0 });
    expect(wrong.discarded).toBeGreaterThan(0);
    expect(wrong.lost).toBe(wrong.discarded);
    expect(wrong.reasons.join('\n')).toMatch(new RegExp(`record of lcore ${LCORE} is pid ${pid}'s, not pid ${pid + 1000000}'s: repaired by the rule of maxPut`));
    lost = wrong.lost;
    // The owner's repair replays its put into the emptied cache: the packets
    // it had not reached are freed, nothing is stored twice.
    const s = await g.settle(LCORE, pid, 'wrongpid');
    expect(s.repair).toMatchObject({ activity: 'put', objects: 0, discarded: 0, lost: 0, reasons: [] });
    expect(s.repair.outcome).not.toBe('unrepairable');
    expect(s.audit).toMatchObject({ duplicates: 0, foreign: 0, settled: true, lost });
  }, 120_000);
});

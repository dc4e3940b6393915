/**
 * SIGKILLs at random moments under full traffic, at the dpdk-core level:
 *
 *   pnpm --filter @mp/dpdk-core faults:pool [--kills N] [--size BUFFERS] [--max-delay-ms MS] [--seed S] [--prefix P]
 *
 * A primary holds a pool and two net_null ports; a traffic secondary
 * forwards between them all along; victims (secondaries looping an RX, a
 * drop, a TX buffer, a direct TX, a ring output or all of these, in turn)
 * are killed one after the other at a random moment while they forward at
 * full rate. The next victim starts while the current one runs (on the other
 * of two lcore ids), so the kills come as fast as a Node process attaches.
 * After each kill the primary repairs the victim's lcore (repairMempool with
 * its pid), reclaims its named vectors and TX buffers, and audits the pool
 * (auditMempool, traffic paused between turns). At the end the traffic
 * stops, every buffer is allocated at once, and it prints:
 *   kills, lost (by the repairs; by the audits), freed twice (buffers the
 *   audits found listed twice), jams (repairs still 'unrepairable' after
 *   10 s, victims that never started), judged (reservations the ring alone
 *   decided), completed / freed (the replay's work), and the pool's state.
 * and a last line `SUMMARY {json}` with the same numbers (test/kill-loop.test.ts
 * runs a short form). Exits 1 if anything was lost, freed twice or jammed.
 * Leaves no process, runtime directory or hugepage file behind.
 */
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { leftovers, removeLeftovers, requireHugepages, type Fixture } from '@mp/test-kit';
import { ACTIVITIES, JournalGroup, type Activity } from './fixtures/journal-group';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    process.stderr.write(`kill-loop: --${name} takes a whole number, not ${process.argv[i + 1]}\n`);
    process.exit(2);
  }
  return v;
}

function textOption(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
}

const KILLS = option('kills', 1000);
const SIZE = option('size', 8191);
const MAX_DELAY_MS = option('max-delay-ms', 200);
let seed = option('seed', Date.now() % 1_000_000);
const firstSeed = seed;
/** mulberry32: reproducible kill moments for a given --seed. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const LCORES = [5, 7];

/** Every thread's native stack of process `pid` (gdb), for a report on a hang. */
function stacks(pid: number): string {
  try {
    return `--- pid ${pid} ---\n${execFileSync('gdb', ['-p', String(pid), '-batch', '-ex', 'thread apply all bt 12'], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] })}`;
  } catch (e) {
    return `--- pid ${pid}: no stacks (${(e as Error).message.split('\n')[0]}) ---\n`;
  }
}

interface Totals {
  kills: number;
  lostByRepair: number;
  lostByAudit: number;
  freedTwice: number;
  jams: number;
  judged: number;
  completed: number;
  freed: number;
  retries: number;
  failures: string[];
}

async function main(): Promise<void> {
  requireHugepages();
  const cpu = execFileSync('lscpu', { encoding: 'utf8' }).match(/Model name:\s*(.*)/)?.[1] ?? os.cpus()[0]?.model ?? '?';
  process.stdout.write(
    `kill-loop: ${KILLS} SIGKILLs, pool of ${SIZE}, kill moments 0..${MAX_DELAY_MS} ms after a victim starts forwarding, seed ${firstSeed}; ${os.cpus().length} CPUs (${cpu})\n`,
  );
  const g = await JournalGroup.start('kill-loop', SIZE, textOption('prefix', `mp-kill-loop-${process.pid}`));
  const t: Totals = { kills: 0, lostByRepair: 0, lostByAudit: 0, freedTwice: 0, jams: 0, judged: 0, completed: 0, freed: 0, retries: 0, failures: [] };
  const started = Date.now();
  const spawn = (i: number): { v: Fixture; name: string; lcore: number; activity: Activity } => {
    const lcore = LCORES[i % 2] as number;
    const activity = ACTIVITIES[i % ACTIVITIES.length] as Activity;
    const name = `k${i}`;
    return { v: g.victim(lcore, name, activity, undefined, 0, true), name, lcore, activity };
  };
  try {
    let next = spawn(0);
    for (let i = 0; i < KILLS; i++) {
      const cur = next;
      let pid: number;
      try {
        ({ pid } = await cur.v.waitForJson<{ pid: number }>('WAITING', 60_000));
      } catch (e) {
        t.jams++;
        t.failures.push(`kill ${i}: the victim never started: ${(e as Error).message.split('\n')[0]}`);
        next = spawn(i + 1);
        continue;
      }
      cur.v.send('go');
      await cur.v.waitForJson('RUNNING', 60_000);
      // The next victim attaches on the other lcore id while this one runs.
      next = spawn(i + 1);
      await new Promise((r) => setTimeout(r, random() * MAX_DELAY_MS));
      cur.v.kill('SIGKILL');
      await cur.v.waitForExit(60_000);
      t.kills++;
      let before: unknown;
      let s: Awaited<ReturnType<JournalGroup['settle']>>;
      try {
        before = await g.primary.request(`activity ${cur.lcore}`, 'ACTIVITY');
        s = await g.settle(cur.lcore, pid, cur.name);
      } catch (e) {
        // A group that stops answering: where each of its processes stands.
        process.stdout.write(`kill ${i} (${cur.activity}): ${(e as Error).message.split('\n')[0]}\n`);
        for (const f of [g.primary, g.traffic, next.v]) process.stdout.write(stacks(f.pid));
        throw e;
      }
      t.retries += s.retries;
      t.judged += s.repair.judged ? 1 : 0;
      t.completed += s.repair.completed;
      t.freed += s.repair.freed;
      t.lostByRepair += s.repair.lost;
      t.lostByAudit = s.audit.lost;
      t.freedTwice = Math.max(t.freedTwice, s.audit.duplicates);
      const jammed = s.repair.outcome === 'unrepairable' || s.repair.consumer === 'unrepairable';
      if (jammed) t.jams++;
      if (jammed || s.repair.lost > 0 || s.audit.lost > 0 || s.audit.duplicates > 0 || s.audit.foreign > 0) {
        t.failures.push(
          `kill ${i} (${cur.activity}, lcore ${cur.lcore}): journal ${JSON.stringify(before)}; repair ${JSON.stringify(s.repair)}; ` +
            `reclaimed ${JSON.stringify(s.reclaimed)}; audit ${JSON.stringify(s.audit)}`,
        );
      }
      if ((i + 1) % 100 === 0) {
        process.stdout.write(
          `  ${i + 1} kills in ${((Date.now() - started) / 1000).toFixed(0)} s: lost ${t.lostByRepair} (repairs) ${t.lostByAudit} (audit), freed twice ${t.freedTwice}, jams ${t.jams}\n`,
        );
      }
    }
    next.v.kill('SIGKILL');
    await next.v.waitForExit(60_000);
    // It may have attached only: nothing of it to repair then, which the repair confirms.
    await g.settle(next.lcore, next.v.pid, next.name);
    const end = await g.finish();
    await g.exit();
    const left = leftovers(g.prefix);
    const seconds = (Date.now() - started) / 1000;
    const failed =
      t.lostByRepair > 0 || t.lostByAudit > 0 || t.freedTwice > 0 || t.jams > 0 || end.audit.lost > 0 || left.length > 0;
    process.stdout.write(
      [
        `kills         ${t.kills} in ${seconds.toFixed(0)} s`,
        `lost          ${t.lostByRepair} (reported by the repairs), ${end.audit.lost} (found by the last audit)`,
        `freed twice   ${Math.max(t.freedTwice, end.audit.duplicates)}`,
        `jams          ${t.jams}`,
        `judged        ${t.judged} (reservations the ring alone decided)`,
        `replayed      ${t.completed} slots completed, ${t.freed} packets freed for the dead, ${t.retries} repairs retried`,
        `pool          ${end.audit.size} buffers: ${end.audit.available} available, ${end.exhausted.got} allocated at once, audit ${end.audit.duplicates} twice / ${end.audit.lost} lost / ${end.audit.foreign} foreign`,
        ...(left.length > 0 ? [`left behind   ${left.join(', ')}`] : []),
        ...t.failures.slice(0, 10).map((f) => `FAILED ${f}`),
        failed ? 'kill-loop: FAILED' : 'kill-loop: ok',
        `SUMMARY ${JSON.stringify({
          kills: t.kills,
          lost: t.lostByRepair + end.audit.lost,
          freedTwice: Math.max(t.freedTwice, end.audit.duplicates),
          jams: t.jams,
          allocatedAtOnce: end.exhausted.got,
          size: end.audit.size,
          leftBehind: left.length,
          seconds: Math.round(seconds),
        })}`,
      ].join('\n') + '\n',
    );
    process.exitCode = failed ? 1 : 0;
  } finally {
    // After a failure part way: every process this script started, by its handle.
    for (const f of [g.traffic, g.primary]) f.kill('SIGKILL');
    await Promise.all([g.traffic.exited, g.primary.exited]);
    removeLeftovers(g.prefix);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`kill-loop: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

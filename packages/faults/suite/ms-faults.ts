/**
 * Faults of master-slave (mp-l2fwd --float on net_null ports: two slaves and
 * their warm standbys on leased lcore ids, unless said): each runs its own
 * master on its own --file-prefix, injects, checks recovery through the
 * master's JSON events, then stops it in order and reads its counters and
 * the one-owner audit of every pool.
 */
import { ownerAlive, type PacketVectorFailpoint } from '@mp/dpdk-core';
import { removeLeftovers } from '@mp/test-kit';
import { SLAVE_BURST, VECTOR_CAPACITY } from 'master-slave/dist/shared';
import { between, row, sleep, until, type Budget, type Fault, type FaultRow } from './fault';
import { malformedPcap } from './frames';
import { MsGroup, NULL_PORTS, armFailpoint, is, type Ev, type MsEnd } from './groups';
import { hogPool } from './hog';
import { judgeExit, scoreRefusal } from './judge';

const APP = 'master-slave';
/**
 * What a slave holds between its ports, so what a kill can leave in flight:
 * its vector (VECTOR_CAPACITY packets) and its TX buffer of SLAVE_BURST.
 */
const HELD = VECTOR_CAPACITY + SLAVE_BURST;

function settle(r: FaultRow, g: MsGroup, end: MsEnd, kills: number): FaultRow {
  r.lost = end.unaccounted;
  r.inFlight = kills * HELD;
  if (end.shutdown) {
    r.leaked = end.audits.reduce((n, a) => n + a.lost, 0);
    r.freedTwice = end.audits.reduce((n, a) => n + a.duplicates, 0);
  } else r.notes.push('the master printed no shutdown event (it did not shut down in order)');
  if (end.code !== 0) r.notes.push(`the master exited with ${end.code}`);
  const caches = g
    .events()
    .filter(is('reclaim'))
    .map((e) => (e.resources as Array<{ label: string; detail?: { discarded?: number } }>).find((x) => x.label.startsWith('pool-cache ')));
  if (caches.length > 0) r.discarded = caches.reduce((n, x) => n + (x?.detail?.discarded ?? 0), 0);
  const lostAtReclaim = (end.shutdown?.unaccountedBuffers as number | undefined) ?? 0;
  if (lostAtReclaim > 0) r.notes.push(`reclaims reported ${lostAtReclaim} buffers unaccounted`);
  return r;
}

/** Starts `g` and waits for traffic; undefined (with a note) if it never forwards. */
async function forwardingGroup(g: MsGroup, r: FaultRow): Promise<Ev | undefined> {
  const started = await g.ready();
  if (started && (await g.forwarding())) return started;
  r.notes.push('the master never forwarded');
  return undefined;
}

/** Runs: a killed master's slaves are orphans, and one that exited shows as a zombie until whoever inherited it reaps it. */
const alive = (pid: number): boolean => ownerAlive(pid, null);

/** Slaves killed `rounds` times (by `kill`, alternating slave0 and slave1); each death must end in a recovery and traffic through the dead slave's port. */
function slaveKills(name: string, kill: (pid: number, budget: Budget) => Promise<void>): Fault {
  return {
    app: APP,
    name,
    async run(budget) {
      const r = row(APP, name);
      const g = new MsGroup('f-mskill');
      if (!(await forwardingGroup(g, r))) return settle(r, g, await g.stop(), 0);
      for (let k = 1; k <= budget.rounds && Date.now() < budget.deadline; k++) {
        const victim = k % 2 === 1 ? 'slave0' : 'slave1';
        await until(() => g.count(is('standby-ready', victim)) > g.count((e) => e.event === 'ready' && e.name === victim && e.promoted === true), 15_000);
        const before = { exits: g.count(is('exit', victim)), recovered: g.count(is('recovered')), resumed: g.count(is('resumed', victim)) };
        await kill(g.pidOf(victim), budget);
        const exit = await g.event(is('exit', victim), before.exits + 1, 15_000);
        if (exit?.signal !== 'SIGKILL') {
          r.notes.push(`round ${k}: ${victim} ended with ${JSON.stringify(exit ?? 'no exit event')}`);
          break;
        }
        r.injected++;
        const recovered = await g.event(is('recovered'), before.recovered + 1, 30_000);
        const resumed = await g.event(is('resumed', victim), before.resumed + 1, 15_000);
        if (recovered && resumed) r.recovered++;
        else {
          r.notes.push(`round ${k}: ${recovered ? 'no traffic through the dead slave\'s port' : 'no recovery'}`);
          break;
        }
      }
      const promoted = g.events().filter((e) => e.event === 'recovered' && (e.promoted as string[]).length > 0).length;
      r.notes.push(`each death: the pair paused, the dead slave reclaimed, its standby promoted (${promoted} of ${r.recovered}), traffic through its port again`);
      return settle(r, g, await g.stop(), r.injected);
    },
  };
}

const randomKill = slaveKills('slave SIGKILL at random moments', async (pid, b) => {
  await sleep(between(b.random, 20, 400));
  process.kill(pid, 'SIGKILL');
});

const atFailpoint = (failpoint: PacketVectorFailpoint): Fault =>
  slaveKills(`slave killed at failpoint ${failpoint}`, async (pid, b) => {
    await sleep(between(b.random, 0, 200));
    armFailpoint(pid, failpoint);
  });

const stopped: Fault = {
  app: APP,
  name: 'slave SIGSTOP+SIGCONT at random moments',
  async run(budget) {
    const r = row(APP, 'slave SIGSTOP+SIGCONT at random moments');
    const g = new MsGroup('f-msstop');
    if (!(await forwardingGroup(g, r))) return settle(r, g, await g.stop(), 0);
    let hangs = 0;
    for (let k = 0; k < budget.rounds && Date.now() < budget.deadline; k++) {
      const victim = k % 2 === 0 ? 'slave0' : 'slave1';
      await sleep(between(budget.random, 20, 300));
      const pid = g.pidOf(victim);
      const recoveries = g.count(is('recovered'));
      process.kill(pid, 'SIGSTOP');
      r.injected++;
      // Around the heartbeat timeout (1 s): shorter stops resume, longer ones are hangs the master kills and replaces.
      await sleep(between(budget.random, 200, 2000));
      if (alive(pid)) process.kill(pid, 'SIGCONT');
      const hung = g.events().some((e) => e.event === 'hang' && e.pid === pid);
      if (hung) hangs++;
      const back = hung ? (await g.event(is('recovered'), recoveries + 1, 30_000)) !== undefined : true;
      if (back && (await g.forwarding())) r.recovered++;
      else r.notes.push(`round ${k}: ${victim} did not come back`);
    }
    r.notes.push(`${hangs} stops outlasted the heartbeat timeout (hang detected, slave killed and replaced), ${r.injected - hangs} resumed by themselves`);
    return settle(r, g, await g.stop(), hangs);
  },
};

const masterKill: Fault = {
  app: APP,
  name: 'primary SIGKILL',
  async run() {
    const r = row(APP, 'primary SIGKILL');
    const g = new MsGroup('f-msprim');
    const started = await forwardingGroup(g, r);
    if (!started) return settle(r, g, await g.stop(), 0);
    const slaves = g.events().filter((e: Ev) => e.event === 'ready' || e.event === 'standby-ready').map((e) => e.pid as number);
    g.master.kill('SIGKILL');
    await g.master.waitForExit();
    const killedAt = g.master.exitedAt;
    r.injected = 1;
    // When each slave and standby notices (they watch the master's pipe), up to 10 s.
    const exitedAfter = new Map<number, number>();
    await until(() => {
      for (const pid of slaves) if (!exitedAfter.has(pid) && !alive(pid)) exitedAfter.set(pid, Date.now() - killedAt);
      return exitedAfter.size === slaves.length;
    }, 10_000, 20);
    const survivors = slaves.filter(alive);
    const after = [...exitedAfter.values()].sort((a, b) => a - b);
    const again = new MsGroup('f-msprim', { prefix: g.prefix });
    const restarted = (await again.ready()) !== undefined && (await again.forwarding());
    // A master spawns its slaves, so a new master starts slaves of its own
    // (apps/master-slave/README.md): recovered when every old slave and
    // standby left within a second and the new master on the same prefix
    // forwards over the files the dead one left.
    const leftInTime = survivors.length === 0 && (after.at(-1) ?? Infinity) <= 1000;
    if (restarted && leftInTime) r.recovered = 1;
    r.notes.push(
      `${after.length} of ${slaves.length} slaves and standbys exited after the kill${after.length > 0 ? ` (after ${after[0]}-${after.at(-1)} ms)` : ''}; ` +
        `a new master on the same prefix ${restarted ? 'forwards with slaves of its own' : 'did not forward'}`,
    );
    const end = await again.stop();
    settle(r, again, end, 0);
    r.lost = null;
    r.inFlight = null;
    for (const pid of survivors.filter(alive)) process.kill(pid, 'SIGKILL');
    removeLeftovers(g.prefix);
    return r;
  },
};

/** The master's exit events, for a note: which slave, why, and how. */
const exitsNote = (exits: Ev[]): string =>
  exits.length === 0 ? 'no slave died' : `slave exits: ${exits.map((e) => `${e.name} ${e.reason} (${e.signal ?? e.code})`).join(', ')}`;

/** The pool hog's lcore id, kept out of the master's leases (see poolExhaustion). */
const HOG_LCORE = 127;

const poolExhaustion: Fault = {
  app: APP,
  name: 'pool exhaustion (a secondary takes every free buffer)',
  async run() {
    const r = row(APP, 'pool exhaustion (a secondary takes every free buffer)');
    // The hog's lcore id must be one no slave or standby holds, now or after
    // a restart: two processes on one id share its pool cache (the audit
    // then lists buffers twice) and its journal record. The master's lcore
    // allocator never leases one of the master's own EAL lcores, so the
    // master is given this id as a second EAL lcore (a worker thread that
    // stays idle: its slaves float) and the hog runs as it, as a pinned
    // secondary beside floating ones does.
    const g = new MsGroup('f-mspool', { eal: [`--lcores=0@0,${HOG_LCORE}@1`, ...NULL_PORTS.map((v) => `--vdev=${v}`)] });
    const started = await forwardingGroup(g, r);
    if (!started) return settle(r, g, await g.stop(), 0);
    const pool = (started.pools as Array<{ name: string }>)[0]?.name ?? 'ms_pool_0';
    const eal = [`--file-prefix=${g.prefix}`, '--no-pci', '--log-level=warning', `--lcores=${HOG_LCORE}@1`, '--proc-type=secondary'];
    const txOf = (e: Ev | undefined, port: number): number => (e?.ports as Array<{ port: number; tx: number }> | undefined)?.find((p) => p.port === port)?.tx ?? 0;
    const held = await hogPool(eal, pool, async () => {
      r.injected = 1;
      // Port 0 receives into the held pool: what slave0 forwards out of port 1 stops.
      const n = g.count(is('stats'));
      const a = await g.event(is('stats'), n + 2, 10_000);
      const b = await g.event(is('stats'), n + 3, 10_000);
      r.notes.push(
        txOf(b, 1) === txOf(a, 1)
          ? 'traffic out of port 1 stopped while the pool was dry'
          : "traffic out of port 1 went on while the pool's ring was dry (slave0 frees on TX into its own lcore cache and receives from it again)",
      );
    });
    const n = g.count(is('stats'));
    const before = await g.event(is('stats'), n + 1, 10_000);
    const moved = await g.event((e) => e.event === 'stats' && txOf(e, 1) > txOf(before, 1), 1, 20_000);
    const exits = g.events().filter(is('exit'));
    if (held.ok && moved && exits.length === 0) r.recovered = r.injected;
    r.notes.push(
      `${held.summary} (${pool}); traffic out of port 1 ${moved ? 'resumed' : 'did not resume'}; ` +
        exitsNote(exits),
    );
    return settle(r, g, await g.stop(), 0);
  },
};

const malformedFrames: Fault = {
  app: APP,
  name: 'malformed and truncated frames (net_pcap rx_pcap)',
  async run() {
    const r = row(APP, 'malformed and truncated frames (net_pcap rx_pcap)');
    const pcap = malformedPcap();
    const vdevs = [0, 1].map((p) => `--vdev=net_pcap${p},rx_pcap=${pcap.file},tx_pcap=/dev/null`);
    const g = new MsGroup('f-mspcap', { eal: ['-l', '0', ...vdevs] });
    const started = await g.ready();
    r.injected = pcap.frames * 2;
    await until(() => ((g.events().filter(is('stats')).at(-1)?.total as { rx: number } | undefined)?.rx ?? 0) >= r.injected, 10_000);
    await sleep(2000);
    const exits = g.events().filter(is('exit'));
    const running = started !== undefined && g.master.exitStatus === undefined && exits.length === 0;
    const end = await g.stop();
    settle(r, g, end, 0);
    const total = end.shutdown?.total as { rx: number; tx: number; dropped: number } | undefined;
    if (running) r.recovered = r.injected;
    r.notes.push(
      `${pcap.frames} crafted frames per port (${pcap.kinds}); received ${total?.rx ?? '?'}, sent ${total?.tx ?? '?'}, dropped ${total?.dropped ?? '?'}; ` +
        exitsNote(exits),
    );
    r.inFlight = 0;
    return r;
  },
};

const secondPrimary: Fault = {
  app: APP,
  name: 'second primary, same --file-prefix',
  async run() {
    const r = row(APP, 'second primary, same --file-prefix');
    const g = new MsGroup('f-ms2nd');
    await g.ready();
    const second = new MsGroup('f-ms2nd', { prefix: g.prefix });
    scoreRefusal(r, 'the second master', await judgeExit(second.master), g.master.exitStatus === undefined && (await g.forwarding()));
    return settle(r, g, await g.stop(), 0);
  },
};

export const masterSlaveFaults: Fault[] = [
  randomKill,
  atFailpoint('kill-after-fill'),
  atFailpoint('send-kill-after-chunk'),
  stopped,
  poolExhaustion,
  malformedFrames,
  secondPrimary,
  masterKill,
];

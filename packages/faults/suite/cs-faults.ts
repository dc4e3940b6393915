/**
 * Faults of client-server (mp-server and mp-client on net_null ports unless
 * said): each runs its own group on its own --file-prefix, injects, checks
 * that the group recovers, then stops it in order and reads the server's
 * counters and its one-owner pool audit.
 */
import type { PacketVectorFailpoint } from '@mp/dpdk-core';
import { EXIT } from '@mp/dpdk-core/cli';
import { removeLeftovers, type Fixture } from '@mp/test-kit';
import { PACKET_READ_SIZE, TX_BUFFER_SIZE } from 'client-server/dist/shared';
import { between, row, sleep, until, type Budget, type Fault, type FaultRow } from './fault';
import { BIN, CsGroup, NULL_PORTS, armFailpoint, lastJson, node, type CsEnd, type ServerStats } from './groups';
import { judgeExit, scoreRefusal } from './judge';
import { malformedPcap } from './frames';
import { hogPool } from './hog';

const APP = 'client-server';
/**
 * What a client holds between its ring and the wire, so what a kill can
 * leave in flight: its vector (a read of PACKET_READ_SIZE packets) and a TX
 * buffer of TX_BUFFER_SIZE per output port (the groups' ports).
 */
const HELD = PACKET_READ_SIZE + NULL_PORTS.length * TX_BUFFER_SIZE;

/** Fills the row's packet, leak and double-free columns from how the group ended. */
function settle(r: FaultRow, g: CsGroup, end: CsEnd, kills: number): FaultRow {
  r.lost = end.unaccounted;
  r.inFlight = kills * HELD;
  r.leaked = end.audit?.lost ?? null;
  r.freedTwice = end.audit?.twice ?? null;
  if (!end.audit) r.notes.push('the server printed no pool audit (it did not shut down in order)');
  if (end.codes.some((c) => c !== 0)) r.notes.push(`exit codes at shutdown: ${end.codes.join(', ')} (${end.errors.join('; ')})`);
  const repairs = g.deaths().map((l) => /pool repair: (\w+) \((\S+) cached objects, (\d+) discarded\)/.exec(l));
  if (repairs.length > 0) {
    const outcomes = new Map<string, number>();
    for (const m of repairs) outcomes.set(m?.[1] ?? '?', (outcomes.get(m?.[1] ?? '?') ?? 0) + 1);
    const discarded = repairs.reduce((n, m) => n + Number(m?.[3] ?? 0), 0);
    r.discarded = discarded;
    r.notes.push(`pool repairs: ${[...outcomes].map(([o, n]) => `${n} ${o}`).join(', ')}; ${discarded} cached buffers discarded (lose, never free twice)`);
  }
  return r;
}

/** Client 0 killed `rounds` times (by `kill`), each time repaired by the server and restarted; client 1 forwards throughout. */
function clientKills(name: string, kill: (victim: Fixture, budget: Budget) => Promise<void>): Fault {
  return {
    app: APP,
    name,
    async run(budget) {
      const r = row(APP, name);
      const g = new CsGroup('f-cskill');
      await g.ready();
      g.startClient(1);
      let victim = g.startClient(0);
      if (!(await g.forwarding(1)) || !(await g.forwarding(0))) r.notes.push('the group never forwarded');
      else {
        for (let k = 0; k < budget.rounds && Date.now() < budget.deadline; k++) {
          const pid = victim.pid;
          await kill(victim, budget);
          const status = await victim.waitForExit(15_000).catch(() => undefined);
          if (status?.signal !== 'SIGKILL') {
            r.notes.push(`round ${k}: the client ended with ${JSON.stringify(status)}, not SIGKILL`);
            break;
          }
          r.injected++;
          const repair = await g.repaired(pid);
          victim = g.startClient(0);
          if (repair !== undefined && (await g.forwarding(0)) && g.server.exitStatus === undefined) r.recovered++;
          else {
            r.notes.push(`round ${k}: ${repair === undefined ? 'no pool repair line' : 'the restarted client did not forward'}`);
            break;
          }
        }
        if (!(await g.forwarding(1))) r.notes.push('the steady client stopped forwarding');
        r.notes.push(`each death repaired by the server and the client restarted on the same id and lcore; client 1 forwarded throughout`);
      }
      return settle(r, g, await g.stop(), r.injected);
    },
  };
}

const randomKill = clientKills('client SIGKILL at random moments', async (victim, b) => {
  await sleep(between(b.random, 20, 400));
  victim.kill('SIGKILL');
});

const atFailpoint = (failpoint: PacketVectorFailpoint): Fault =>
  clientKills(`client killed at failpoint ${failpoint}`, async (victim, b) => {
    await sleep(between(b.random, 0, 200));
    armFailpoint(victim.pid, failpoint);
  });

/** A client's ring drop counter, from the server's latest stats line. */
const ringDrops = (g: CsGroup, id: number): number => lastJson<ServerStats>(g.server, 'stats')?.clients[id]?.rxDrop ?? 0;

/** Clients stopped (SIGSTOP) while the server keeps filling their rings, then continued (SIGCONT). */
function stopped(name: string, which: (number | 'all')[], repeat: boolean): Fault {
  return {
    app: APP,
    name,
    async run(budget) {
      const r = row(APP, name);
      const g = new CsGroup('f-csstop');
      await g.ready();
      const ids = [0, 1];
      for (const id of ids) g.startClient(id);
      if (!(await g.forwarding(0)) || !(await g.forwarding(1))) r.notes.push('the group never forwarded');
      else {
        let overflowed = 0;
        const rounds = repeat ? budget.rounds : 1;
        for (let k = 0; k < rounds && Date.now() < budget.deadline; k++) {
          const victims = which[0] === 'all' ? ids : [k % 2];
          await sleep(between(budget.random, 20, 300));
          const before = victims.map((id) => ringDrops(g, id));
          for (const id of victims) g.clients.get(id)?.kill('SIGSTOP');
          r.injected++;
          await sleep(between(budget.random, 300, 1500));
          // Counted drops on each stopped client's ring: the server went on and its rings overflowed.
          if (await until(() => victims.every((id, i) => ringDrops(g, id) > (before[i] as number)), 5000)) overflowed++;
          for (const id of victims) g.clients.get(id)?.kill('SIGCONT');
          const resumed = await Promise.all(ids.map((id) => g.forwarding(id)));
          if (resumed.every(Boolean) && g.server.exitStatus === undefined) r.recovered++;
          else r.notes.push(`round ${k}: forwarding did not resume (${resumed.join(', ')})`);
        }
        const drops = ids.reduce((n, id) => n + ringDrops(g, id), 0);
        r.notes.push(`rings overflowed in ${overflowed} of ${r.injected} stops (${drops} packets dropped and counted by the server); forwarding resumed on SIGCONT`);
      }
      return settle(r, g, await g.stop(), 0);
    },
  };
}

const primaryKill: Fault = {
  app: APP,
  name: 'primary SIGKILL',
  async run() {
    const r = row(APP, 'primary SIGKILL');
    const help = await judgeExit(node('mp-client --help', BIN.client, ['--help']));
    const reattach = /--reattach/.test(help.stdout) ? ['--reattach'] : [];
    const g = new CsGroup('f-csprim');
    await g.ready();
    for (const id of [0, 1]) g.startClient(id, reattach);
    if (!(await g.forwarding(0)) || !(await g.forwarding(1))) {
      r.notes.push('the group never forwarded');
      return r;
    }
    g.server.kill('SIGKILL');
    await g.server.waitForExit();
    r.injected = 1;
    await sleep(1500);
    const gone = [...g.clients.values()].filter((c) => c.exitStatus !== undefined);
    // A new server on the same prefix, as the demo would start one.
    const again = new CsGroup('f-csprim', { prefix: g.prefix });
    const started = await again.ready().then(
      () => true,
      (e: Error) => (r.notes.push(`a new server on the same prefix did not start: ${e.message.split('\n')[0]}`), false),
    );
    for (const [id, c] of g.clients) again.clients.set(id, c);
    const back = started ? await Promise.all([0, 1].map((id) => again.forwarding(id, 10_000))) : [false, false];
    if (back.every(Boolean)) r.recovered = 1;
    r.notes.push(
      `${reattach.length > 0 ? 'clients run with --reattach; ' : 'mp-client has no --reattach yet; '}` +
        `${gone.length} of 2 clients exited (codes ${gone.map((c) => c.exitStatus?.code).join(', ') || 'none'}, EXIT.peerGone = ${EXIT.peerGone}); ` +
        `a new server ${started ? 'started' : 'did not start'} on the same prefix; clients forwarding through it: ${back.filter(Boolean).length} of 2`,
    );
    const end = await again.stop();
    settle(r, again, end, 0);
    // The killed server's counters died with it: what its clients sent is not comparable with the new server's.
    r.lost = null;
    r.inFlight = null;
    removeLeftovers(g.prefix);
    return r;
  },
};

/** A process the group must refuse, started beside a group whose client 0 forwards. */
function refusedBeside(name: string, who: string, start: (g: CsGroup) => Fixture): Fault {
  return {
    app: APP,
    name,
    async run() {
      const r = row(APP, name);
      const g = new CsGroup('f-csrefuse');
      await g.ready();
      g.startClient(0);
      await g.forwarding(0);
      scoreRefusal(r, who, await judgeExit(start(g)), g.server.exitStatus === undefined && (await g.forwarding(0)));
      return settle(r, g, await g.stop(), 0);
    },
  };
}

const secondPrimary = refusedBeside('second primary, same --file-prefix', 'the second server', (g) => new CsGroup('f-cs2nd', { prefix: g.prefix, clients: 1 }).server);
const duplicateId = refusedBeside("second client with a live client's id", 'the second client 0', (g) =>
  node('mp-client 0 again', BIN.client, [...g.clientEal(10), '--', '-n', '0']),
);

const poolExhaustion: Fault = {
  app: APP,
  name: 'pool exhaustion (a secondary takes every free buffer)',
  async run() {
    const r = row(APP, 'pool exhaustion (a secondary takes every free buffer)');
    const g = new CsGroup('f-cspool');
    await g.ready();
    for (const id of [0, 1]) g.startClient(id);
    await Promise.all([0, 1].map((id) => g.forwarding(id)));
    const received = (): number => (lastJson<ServerStats>(g.server, 'stats')?.ports ?? []).reduce((n, p) => n + p.rx, 0);
    const held = await hogPool(g.clientEal(127), 'MProc_pktmbuf_pool', async () => {
      r.injected = 1;
      // The ports find no buffer to receive into: the server's receive counters stand still.
      let last = -1;
      const felt = await until(() => {
        const now = received();
        const still = now === last;
        last = now;
        return still;
      }, 10_000, 500);
      r.notes.push(felt ? 'the ports received nothing while the pool was dry' : 'the ports kept receiving');
    });
    const resumed = await Promise.all([0, 1].map((id) => g.forwarding(id)));
    if (held.ok && resumed.every(Boolean) && g.server.exitStatus === undefined) r.recovered = r.injected;
    r.notes.push(`${held.summary}; forwarding ${resumed.every(Boolean) ? 'resumed' : 'did not resume'} once they were freed`);
    return settle(r, g, await g.stop(), 0);
  },
};

const malformedFrames: Fault = {
  app: APP,
  name: 'malformed and truncated frames (net_pcap rx_pcap)',
  async run() {
    const r = row(APP, 'malformed and truncated frames (net_pcap rx_pcap)');
    const pcap = malformedPcap();
    // One client: each secondary re-opens net_pcap's tx files (here /dev/null).
    const vdevs = [0, 1].map((p) => `net_pcap${p},rx_pcap=${pcap.file},tx_pcap=/dev/null`);
    const g = new CsGroup('f-cspcap', { clients: 1, vdevs, app: ['--distribute', 'flow'] });
    await g.ready();
    g.startClient(0);
    r.injected = pcap.frames * 2;
    const sent = (): number => lastJson<ServerStats>(g.server, 'stats')?.clients[0]?.tx ?? 0;
    const rx = (): number => (lastJson<ServerStats>(g.server, 'stats')?.ports ?? []).reduce((n, p) => n + p.rx, 0);
    await until(() => g.clients.get(0)?.exitStatus !== undefined || g.server.exitStatus !== undefined || rx() >= r.injected, 10_000);
    await sleep(1000);
    const alive = g.server.exitStatus === undefined && g.clients.get(0)?.exitStatus === undefined;
    const end = await g.stop();
    settle(r, g, end, 0);
    const received = end.stats ? end.stats.ports.reduce((n, p) => n + p.rx, 0) : 0;
    if (alive) r.recovered = r.injected;
    r.notes.push(
      `${pcap.frames} crafted frames per port (${pcap.kinds}); the ports received ${received}, client 0 sent ${end.stats?.clients[0]?.tx ?? sent()}; ` +
        `server and client ${alive ? 'kept running' : 'did not survive'} (distribution by flow parses each frame's IPv4 header)`,
    );
    r.inFlight = 0;
    return r;
  },
};

export const clientServerFaults: Fault[] = [
  randomKill,
  atFailpoint('kill-after-fill'),
  atFailpoint('send-kill-after-chunk'),
  atFailpoint('kill-in-peek'),
  stopped('client SIGSTOP+SIGCONT at random moments (its ring overflows)', [0], true),
  stopped('ring overflow: every client stopped at once', ['all'], false),
  poolExhaustion,
  malformedFrames,
  secondPrimary,
  duplicateId,
  primaryKill,
];

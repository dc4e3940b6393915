/**
 * A warm standby for a client id (`mp-client ... -- -n N --standby`): a
 * process that has done everything a client does before it takes its
 * registry slot (Node booted, modules loaded, EAL attached as a secondary,
 * ring, pool and port_info looked up, routes worked out), then waits,
 * reading the slot's owner word every millisecond, until client N is gone
 * and the server has repaired what it left and freed the slot. It then joins
 * like any client and forwards at once: a restart costs the server's repair
 * and the join, not a Node boot and an EAL attach.
 *
 * The standby touches nothing the dead client held: it never uses the pool
 * (nor its lcore's cache) before its join succeeds, and the join succeeds
 * only once the server's HolderWatch has reclaimed the dead client's pool
 * cache, vector and TX buffers and freed the slot (client-repair.ts), so a
 * standby on the dead client's lcore id is safe. It may wait on the same
 * lcore id as the live client for the same reason.
 */
import { abandon, cleanup, dpdkError, hasCode, primaryProcessAlive } from '@mp/dpdk-core';
import { EXIT, STOP_SIGNALS } from '@mp/dpdk-core/cli';
import type { AttachedClient, Client } from './client';
import { SLOT_STATE, type ClientRegistry } from './registry';

/** How often a standby reads the slot's owner word: the most it adds to a takeover. */
const POLL_MS = 1;
/** How often it checks that the server (primary) is alive, as an active client does. */
const PRIMARY_CHECK_MS = 200;

type Wake = { kind: 'free' } | { kind: 'stop'; reason: string } | { kind: 'server-gone' };

/** Waits until slot `c` is free, a stop is asked for (signal or server), or the server dies. */
function slotFree(registry: ClientRegistry, c: number): Promise<Wake> {
  return new Promise((resolve) => {
    let lastPrimaryCheck = Date.now();
    const finish = (w: Wake): void => {
      clearInterval(timer);
      for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
      resolve(w);
    };
    const onSignal = (sig: NodeJS.Signals): void => finish({ kind: 'stop', reason: `${sig} received` });
    const look = (): void => {
      if (registry.holding(c).pid === 0) return finish({ kind: 'free' });
      if (registry.stopRequested) return finish({ kind: 'stop', reason: 'the server asked its clients to stop' });
      if (Date.now() - lastPrimaryCheck >= PRIMARY_CHECK_MS) {
        lastPrimaryCheck = Date.now();
        if (!primaryProcessAlive()) finish({ kind: 'server-gone' });
      }
    };
    const timer = setInterval(look, POLL_MS);
    for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
    look();
  });
}

/**
 * Stands by for client `a.opts.clientId`, then runs it with `run` (client.ts's
 * runClient). Returns the running client, or an exit code when the standby
 * ends without taking over. Of several standbys for one id, one wins the
 * slot's compare-exchange; the others go on standing by.
 */
export async function standBy(a: AttachedClient, run: (a: AttachedClient) => Promise<Client>): Promise<Client | number> {
  const c = a.opts.clientId;
  const { registry } = a;
  if (registry === undefined) {
    cleanup();
    throw dpdkError('ENOTSUP', 'mp-client', "--standby needs the client registry of the TypeScript mp-server (a C mp_server keeps none); start the client without --standby");
  }
  if (registry.serverLcore === a.lcore) {
    cleanup();
    throw dpdkError('EBUSY', 'mp-client', `lcore ${a.lcore} is the server's lcore: give the standby the lcore id of the client it stands in for`);
  }
  process.stdout.write(`Client ${c} standby ready (pid ${process.pid}, lcore ${a.lcore}): takes over when client ${c} is gone\n`);
  for (;;) {
    const wake = await slotFree(registry, c);
    if (wake.kind === 'server-gone') {
      abandon();
      process.stderr.write(`mp-client ${c}: the server (primary process) has exited; restart it, then restart the clients\n`);
      return EXIT.peerGone;
    }
    if (wake.kind === 'stop') {
      process.stdout.write(`client ${c} standby stopping: ${wake.reason}\n`);
      cleanup();
      return EXIT.ok;
    }
    try {
      return await run(a);
    } catch (e) {
      // Another standby won the slot: stand by again, for it.
      if (hasCode(e, 'EBUSY') && registry.holderAlive(c) && registry.state(c) === SLOT_STATE.running) continue;
      throw e;
    }
  }
}

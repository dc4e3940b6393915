/**
 * What the server does when a TS client dies: @mp/recovery's HolderWatch
 * finds it dead by its registry slot, reclaims what it held the way the
 * l2fwd master reclaims a slave (its lcore's pool cache and whatever put it
 * left half done in the pool's ring, then its packet vector and TX buffers),
 * and frees its slot, so a client with that id or lcore can start again.
 */
import type { Mempool } from '@mp/dpdk-core';
import { HolderWatch, packetVectors, poolCache, txBuffers, type Holder, type HolderEvent, type ReclaimReport } from '@mp/recovery';
import { SLOT_STATE, type ClientRegistry } from './registry';
import { MAX_CLIENTS, TX_BUFFER_SIZE, clientTxBufferName, clientVectorName } from './shared';

/**
 * The most buffers a client puts into its lcore's pool cache at once, which
 * bounds what a kill can leave half stored there (repairMempool's maxPut):
 * its drivers free what one TX burst carried (TX_BUFFER_SIZE single-segment
 * packets, one by one or in one bulk put), and a TX buffer it takes over is
 * emptied in one bulk free of at most that many.
 */
const CLIENT_MAX_PUT = TX_BUFFER_SIZE;

/** Every client slot as a holder of the pool's cache for its lcore, its named vector and its TX buffers toward `portIds`. */
function clientHolders(registry: ClientRegistry, pool: Mempool, portIds: readonly number[]): Holder[] {
  return Array.from({ length: MAX_CLIENTS }, (_, c) => ({
    name: `client ${c}`,
    owner: registry.owner(c),
    lcore: () => registry.lcore(c),
    active: () => registry.state(c) !== SLOT_STATE.free,
    reclaiming: () => registry.setState(c, SLOT_STATE.repairing),
    // The pool first: freeing into a ring the client left half written would
    // spin. A stuck ring not provably the dead client's is tried again on
    // the next look (a live process may be descheduled there).
    resources: [
      poolCache(pool, { maxPut: CLIENT_MAX_PUT, retryMs: 0 }),
      packetVectors([clientVectorName(c)]),
      txBuffers(portIds.map((port) => clientTxBufferName(c, port))),
    ],
    free: (dead, reclaimed) => registry.clearDead(c, dead, reclaimed),
  }));
}

const detail = (results: ReclaimReport['results'], kind: string): Record<string, unknown> =>
  results.find((r) => r.label.startsWith(kind))?.detail ?? {};

/** The server's line about a client's death: stdout for what happened, stderr for what went wrong. */
function describe(e: HolderEvent): { stream: 'out' | 'err'; line: string } {
  switch (e.type) {
    case 'freed':
      return { stream: 'out', line: `${e.name} (pid ${e.pid}) died while joining or leaving; its slot is free again` };
    case 'waiting':
      return {
        stream: 'err',
        line: `mp-server: ${e.name} (pid ${e.pid}, lcore ${e.lcore}) died while the pool's ring was stuck and the stuck part is not provably its own; retrying (a live process may be descheduled there)`,
      };
    case 'failed':
      return { stream: 'err', line: `mp-server: ${e.name} (pid ${e.pid}, lcore ${e.lcore}) died and its ${e.label} could not be reclaimed: ${e.error.message}` };
    case 'reclaimed': {
      const pool = detail(e.results, 'pool-cache');
      const tx = detail(e.results, 'tx-buffers');
      const vec = detail(e.results, 'packet-vectors');
      return {
        stream: 'out',
        line:
          `${e.name} (pid ${e.pid}, lcore ${e.lcore}) died; pool repair: ${String(pool['outcome'] ?? pool['skipped'])} (${String(pool['objects'] ?? pool['cached'])} cached objects, ${String(pool['discarded'] ?? 0)} discarded); ` +
          `${String(tx['freed'])} packets reclaimed from its TX buffers, ${String(vec['requeued'])} put back in its ring`,
      };
    }
  }
}

/** The watch over every client slot; `log` takes stdout lines, stderr lines go to stderr. */
export function watchClients(registry: ClientRegistry, pool: Mempool, portIds: readonly number[], log: (line: string) => void): HolderWatch {
  return new HolderWatch(clientHolders(registry, pool, portIds), {
    ownLcores: registry.serverLcore === null ? [] : [registry.serverLcore],
    onEvent: (e) => {
      const { stream, line } = describe(e);
      if (stream === 'out') log(line);
      else process.stderr.write(`${line}\n`);
    },
  });
}

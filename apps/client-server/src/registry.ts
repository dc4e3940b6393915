/**
 * The client registry: our zone next to the C sample's port_info (whose
 * layout must not change), declared on @mp/mp-ring. It carries what the C
 * sample lacks: the server's stop request and lcore id, one owned slot per
 * client id (so the server can tell when a TS client dies and repair what it
 * left half done, and so no two clients, nor a client and the server, share
 * an lcore's pool cache), and the server-side per-client counters, which the
 * C sample keeps in private rte_malloc memory. C clients do not register;
 * they work without it.
 *
 * A client joins in steps, any of which it may be killed in: it takes its
 * slot (the owner words: pid and start stamp), records its lcore, checks that
 * lcore against the server's and the other slots', and only then sets
 * `running`. Leaving is the reverse: `free`, then the lcore cleared, then the
 * slot released. So a slot whose holder is dead and whose state is `free` was
 * joining or leaving: it never used the pool, and the server frees it without
 * a repair. One marked `running` (or `repairing`) has an lcore no live
 * process shares, which the repair may touch.
 */
import { dpdkError } from '@mp/dpdk-core';
import { OwnedSlot, createZone, declareZone, openZone, ownerWords, t, type Ownership, type SharedZone } from '@mp/mp-ring';
import { MAX_CLIENTS } from './shared';

/** How long a restarted client waits for the server to repair what its dead predecessor left. */
const REPAIR_WAIT_MS = 5000;


export const SLOT_STATE = {
  free: 0,
  running: 1,
  /** The client died; the server repairs the pool before the slot is free again. */
  repairing: 2,
} as const;

export const registryZone = declareZone({
  kind: 'client-server registry',
  magic: 0x5354504d, // "MPTS"
  version: 3,
  fields: t.struct({
    serverPid: t.u32,
    numClients: t.u32,
    numPorts: t.u32,
    /** Nonzero: the server asks its clients to stop. */
    stop: t.u32,
    /** The server's lcore id + 1 (0 = none). */
    serverLcore: t.u32,
  }),
  slot: t.struct({
    owner: ownerWords,
    /** The holder's lcore id + 1 (0 = not recorded yet: the holder is joining). */
    lcore: t.u32,
    state: t.u32,
    /** Written by the server only: what it handed to this client's ring, and dropped. */
    rx: t.u64,
    rxDrop: t.u64,
    /** Times the server repaired after this slot's client died. */
    repairs: t.u64,
  }),
  maxSlots: MAX_CLIENTS,
});

type RegistryZone = SharedZone<typeof registryZone.fields, typeof registryZone.slot>;

export class ClientRegistry {
  private readonly owners: OwnedSlot[];

  private constructor(readonly zone: RegistryZone) {
    this.owners = Array.from({ length: MAX_CLIENTS }, (_, c) => OwnedSlot.of(zone, c));
  }

  /** The server: reserves and initialises the registry. */
  static create(name: string, server: { pid: number; lcore: number | null; clients: number; ports: number }): ClientRegistry {
    const zone = createZone(name, registryZone, {
      slots: MAX_CLIENTS,
      init: (z) => {
        z.fields.serverPid = server.pid;
        z.fields.serverLcore = server.lcore === null ? 0 : server.lcore + 1;
        z.fields.numClients = server.clients;
        z.fields.numPorts = server.ports;
      },
    });
    return new ClientRegistry(zone);
  }

  /** A client: the server's registry ('E_LAYOUT' if it is another version's, 'ENOENT' without one). */
  static open(name: string): ClientRegistry {
    return new ClientRegistry(openZone(name, registryZone));
  }

  get numClients(): number {
    return this.zone.fields.numClients;
  }

  get stopRequested(): boolean {
    return this.zone.fields.stop !== 0;
  }

  requestStop(): void {
    this.zone.fields.stop = 1;
  }

  /** The server's lcore id, null if it has none. */
  get serverLcore(): number | null {
    const v = this.zone.fields.serverLcore;
    return v === 0 ? null : v - 1;
  }

  /** The owner words of client `c`'s slot. */
  owner(c: number): OwnedSlot {
    return this.owners[c] as OwnedSlot;
  }

  /** The holding of slot `c` (pid 0: free). */
  holding(c: number): Ownership {
    return this.owner(c).read();
  }

  /** Whether the process holding slot c still runs and is the one that took it (a zombie or a reused pid is not). */
  holderAlive(c: number): boolean {
    return this.owner(c).holderAlive();
  }

  /** The lcore id the holder of slot c recorded, null while it has not. */
  lcore(c: number): number | null {
    const v = this.zone.slot(c).lcore;
    return v === 0 ? null : v - 1;
  }

  state(c: number): number {
    return this.zone.slot(c).state;
  }

  setState(c: number, state: number): void {
    this.zone.slot(c).state = state;
  }

  /**
   * Joins slot c on `lcore`, up to the lcore check: takes the slot if it is
   * free and records the lcore. Returns the holding, or null when another
   * process holds the slot (holding() says which). The lcore is recorded with
   * a compare-exchange, a full barrier: of two clients joining at once, at
   * least one then sees the other's lcore in lcoreUsers().
   */
  claim(c: number, lcore: number): Ownership | null {
    const mine = this.owner(c).claim();
    if (mine === null) return null;
    this.zone.memzone.compareExchange32(this.zone.slotFieldOffset(c, ['lcore']), 0, lcore + 1);
    return mine;
  }

  /**
   * Joins slot c as this process on `lcore`, the whole protocol: a slot held
   * by a live process means the id is taken; one held by a dead process is
   * freed by the server (after repairing what that process left), so wait for
   * that. The same goes for the lcore id: mempool caches are per lcore, and
   * two processes on one lcore (another client, or the server) corrupt them.
   */
  async join(c: number, lcore: number): Promise<Ownership> {
    const refuse = (message: string): Error => dpdkError('EBUSY', 'mp-client', message);
    if (this.serverLcore === lcore) {
      throw refuse(
        `lcore ${lcore} is the server's lcore, and per-lcore pool caches are not thread safe: give this client its own lcore id (e.g. --lcores=${lcore + 1}@<cpu>)`,
      );
    }
    const deadline = Date.now() + REPAIR_WAIT_MS;
    const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));
    let mine: Ownership | null;
    while ((mine = this.claim(c, lcore)) === null) {
      const holder = this.holding(c).pid;
      // A live holder still joining or already leaving is waited for.
      if (this.holderAlive(c) && this.state(c) === SLOT_STATE.running) {
        throw refuse(`client id ${c} is already in use by pid ${holder}; give each client its own -n`);
      }
      if (Date.now() > deadline) {
        throw refuse(
          this.holderAlive(c)
            ? `client id ${c} is held by pid ${holder}, which has been joining or leaving for ${REPAIR_WAIT_MS} ms; is it stopped?`
            : `client id ${c} is still held by dead pid ${holder}: the server did not release it within ${REPAIR_WAIT_MS} ms`,
        );
      }
      await pause();
    }
    for (;;) {
      const users = this.lcoreUsers(c, lcore);
      if (users.length === 0) break;
      const live = users.filter((other) => this.holderAlive(other));
      if (live.length > 0 || Date.now() > deadline) {
        this.release(c, mine);
        const other = (live[0] ?? users[0]) as number;
        throw refuse(
          `lcore ${lcore} is already used by client ${other} (pid ${this.holding(other).pid}); give each client its own lcore id (e.g. --lcores=${lcore + 1}@<cpu>)`,
        );
      }
      await pause();
    }
    this.setState(c, SLOT_STATE.running);
    return mine;
  }

  /** The other slots whose holder recorded `lcore` (those still joining have not: they will see ours). */
  lcoreUsers(c: number, lcore: number): number[] {
    const users: number[] = [];
    for (let other = 0; other < MAX_CLIENTS; other++) {
      if (other !== c && this.holding(other).pid !== 0 && this.lcore(other) === lcore) users.push(other);
    }
    return users;
  }

  /** Leaves slot c, if `mine` still holds it: state, then lcore, then the slot. */
  release(c: number, mine: Ownership): void {
    const now = this.holding(c);
    if (now.generation !== mine.generation || now.pid !== mine.pid) return;
    this.vacate(c, mine);
  }

  /** The server: frees a dead client's slot (once its leftovers are repaired, if it was running). */
  clearDead(c: number, dead: Ownership, repaired: boolean): void {
    if (repaired) this.zone.memzone.add64(this.zone.slotFieldOffset(c, ['repairs']), 1n);
    this.vacate(c, dead);
  }

  private vacate(c: number, holding: Ownership): void {
    this.setState(c, SLOT_STATE.free);
    this.zone.slot(c).lcore = 0;
    this.owner(c).release(holding);
  }

  repairs(c: number): number {
    return Number(this.zone.slot(c).repairs);
  }

  /** The server's per-client counters, as it publishes them. */
  publish(c: number, rx: number, rxDrop: number): void {
    const slot = this.zone.slot(c);
    slot.rx = BigInt(rx);
    slot.rxDrop = BigInt(rxDrop);
  }

  /** The server, once every client is gone. */
  free(): void {
    this.zone.release();
  }
}

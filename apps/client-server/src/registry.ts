/**
 * The control memzone: ours, next to the C sample's port_info (whose layout
 * must not change). It carries what the C sample lacks: the server's stop
 * request and lcore id, a registry of attached TypeScript clients (pid and
 * lcore id, so the server can tell when one dies and repair what it left half
 * done, and so no two of them, nor a client and the server, share an lcore's
 * pool cache), and the server-side per-client counters, which the C sample
 * keeps in private rte_malloc memory. C clients do not register; they work
 * without it.
 *
 * Layout (little-endian, 64-byte lines):
 *   @0   u32 magic, u32 version, u32 serverPid, u32 numClients, u32 stop, u32 numPorts,
 *        u32 serverLcore + 1 (0 = unknown)
 *   @64  slot[16], 64 bytes each:
 *          @0 u32 pid (0 = free; claimed by compare-exchange)
 *          @4 u32 lcore + 1 (0 = not recorded yet: the holder is joining)
 *          @8 u32 state (SLOT_STATE)
 *          @12 u32 start stamp of the pid (low 32 bits of its start time in
 *              clock ticks; 0 = unknown), so a reused pid is not taken for
 *              the client that died
 *          @16 u64 rx, @24 u64 rx_drop   (written by the server only)
 *          @32 u64 repairs (times the server repaired after this slot's client died)
 *
 * A client joins in steps, any of which it may be killed in: it takes the
 * slot (pid), records its stamp and lcore, checks that lcore against the
 * server's and the other slots', and only then sets `running`. Leaving is the
 * reverse: `free`, then the lcore and stamp cleared, then the pid. So a slot
 * whose holder is dead and whose state is `free` was joining or leaving: it
 * never used the pool, and the server frees it without a repair. One marked
 * `running` (or `repairing`) has an lcore no live process shares, which the
 * repair may touch.
 */
import type { Memzone } from '@mp/dpdk-core';
import { ownerAlive, readProcStat, startStamp } from '@mp/lcore-alloc';
import { MAX_CLIENTS } from './shared';

export const CONTROL = {
  size: 64 + 64 * MAX_CLIENTS,
  magic: 0,
  version: 4,
  serverPid: 8,
  numClients: 12,
  stop: 16,
  numPorts: 20,
  serverLcore: 24,
  slot: (c: number): number => 64 + 64 * c,
  slotPid: 0,
  slotLcore: 4,
  slotState: 8,
  slotStart: 12,
  slotRx: 16,
  slotRxDrop: 24,
  slotRepairs: 32,
} as const;

export const CONTROL_MAGIC = 0x5354504d; // "MPTS"
export const CONTROL_VERSION = 2;

export const SLOT_STATE = {
  free: 0,
  running: 1,
  /** The client died; the server repairs the pool before the slot is free again. */
  repairing: 2,
} as const;

/** This process's start stamp, as claim() records it; 0 (no stamp: the pid alone decides) if /proc does not show it. */
function ownStamp(): number {
  const stat = readProcStat(process.pid);
  return stat === null ? 0 : startStamp(stat.startTicks);
}

export class Control {
  constructor(readonly mz: Memzone) {}

  get valid(): boolean {
    return this.mz.load32(CONTROL.magic) === CONTROL_MAGIC && this.mz.load32(CONTROL.version) === CONTROL_VERSION;
  }

  init(serverPid: number, serverLcore: number | null, numClients: number, numPorts: number): void {
    this.mz.store32(CONTROL.serverPid, serverPid);
    this.mz.store32(CONTROL.serverLcore, serverLcore === null ? 0 : serverLcore + 1);
    this.mz.store32(CONTROL.numClients, numClients);
    this.mz.store32(CONTROL.numPorts, numPorts);
    this.mz.store32(CONTROL.stop, 0);
    this.mz.store32(CONTROL.version, CONTROL_VERSION);
    this.mz.store32(CONTROL.magic, CONTROL_MAGIC);
  }

  get numClients(): number {
    return this.mz.load32(CONTROL.numClients);
  }

  get stopRequested(): boolean {
    return this.mz.load32(CONTROL.stop) !== 0;
  }

  requestStop(): void {
    this.mz.store32(CONTROL.stop, 1);
  }

  /** The server's lcore id, null if it has none. */
  get serverLcore(): number | null {
    const v = this.mz.load32(CONTROL.serverLcore);
    return v === 0 ? null : v - 1;
  }

  pid(c: number): number {
    return this.mz.load32(CONTROL.slot(c) + CONTROL.slotPid);
  }

  /** The lcore id the holder of slot c recorded, null while it has not. */
  lcore(c: number): number | null {
    const v = this.mz.load32(CONTROL.slot(c) + CONTROL.slotLcore);
    return v === 0 ? null : v - 1;
  }

  state(c: number): number {
    return this.mz.load32(CONTROL.slot(c) + CONTROL.slotState);
  }

  /**
   * Whether the process holding slot c still runs and is the one that
   * claimed it (a zombie or a reused pid is not). C clients do not record a
   * start stamp; for them the pid alone decides.
   */
  holderAlive(c: number): boolean {
    const pid = this.pid(c);
    return pid !== 0 && ownerAlive(pid, this.stamp(c));
  }

  /** The start stamp the holder of slot c recorded, null if none (a C client). */
  stamp(c: number): number | null {
    const stamp = this.mz.load32(CONTROL.slot(c) + CONTROL.slotStart);
    return stamp === 0 ? null : stamp;
  }

  setState(c: number, state: number): void {
    this.mz.store32(CONTROL.slot(c) + CONTROL.slotState, state);
  }

  /**
   * Joins slot c as `pid` on `lcore`, up to the lcore check: takes the slot
   * if it is free and records the stamp and lcore. Returns the pid that holds
   * it otherwise (0 = taken). The lcore is recorded with a compare-exchange,
   * a full barrier: of two clients joining at once, at least one then sees
   * the other's lcore in lcoreUsers().
   */
  claim(c: number, pid: number, lcore: number): number {
    const base = CONTROL.slot(c);
    const prev = this.mz.compareExchange32(base + CONTROL.slotPid, 0, pid);
    if (prev !== 0) return prev;
    this.mz.store32(base + CONTROL.slotStart, ownStamp());
    this.mz.compareExchange32(base + CONTROL.slotLcore, 0, lcore + 1);
    return 0;
  }

  /** The other slots whose holder recorded `lcore` (those still joining have not: they will see ours). */
  lcoreUsers(c: number, lcore: number): number[] {
    const users: number[] = [];
    for (let other = 0; other < MAX_CLIENTS; other++) {
      if (other !== c && this.pid(other) !== 0 && this.lcore(other) === lcore) users.push(other);
    }
    return users;
  }

  /** Gives slot c back, if `pid` still holds it. */
  release(c: number, pid: number): void {
    if (this.pid(c) !== pid) return;
    this.vacate(c, pid);
  }

  /** Server only: frees a dead client's slot (once its leftovers are repaired, if it was running). */
  clearDead(c: number, deadPid: number, repaired: boolean): void {
    if (repaired) this.mz.add64(CONTROL.slot(c) + CONTROL.slotRepairs, 1n);
    this.vacate(c, deadPid);
  }

  private vacate(c: number, pid: number): void {
    const base = CONTROL.slot(c);
    this.setState(c, SLOT_STATE.free);
    this.mz.store32(base + CONTROL.slotLcore, 0);
    this.mz.store32(base + CONTROL.slotStart, 0);
    this.mz.compareExchange32(base + CONTROL.slotPid, pid, 0);
  }

  repairs(c: number): number {
    return Number(this.mz.load64(CONTROL.slot(c) + CONTROL.slotRepairs));
  }
}

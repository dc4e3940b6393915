/**
 * Processes that attach by themselves rather than being started by a
 * Supervisor, and hold an owned slot of a shared zone while they run (as
 * client-server's clients do in its registry). A holder found dead by the
 * owned slot's liveness check gets its resources reclaimed the way the
 * Supervisor reclaims a slave's (reclaimAll), then its slot is freed, so its
 * lcore id and slot can be used again.
 */
import { hasCode, pidExists } from '@mp/dpdk-core';
import type { OwnedSlot, Ownership } from '@mp/mp-ring';
import { reclaimAll, type ReclaimReport, type Resource } from './resources';

export interface Holder {
  /** For events: 'client 3'. */
  readonly name: string;
  readonly owner: OwnedSlot;
  /** The lcore id the holder recorded, null while it has not. */
  lcore(): number | null;
  /** Whether the holder had begun using what `resources` reclaims; one that had not (joining, leaving) is only freed. */
  active(): boolean;
  /** Called as its reclaim starts, e.g. to mark the slot. */
  reclaiming(): void;
  readonly resources: readonly Resource[];
  /** Frees the slot of a dead holding; `reclaimed` when its resources were reclaimed first. */
  free(dead: Ownership, reclaimed: boolean): void;
}

export type HolderEvent =
  | { type: 'freed'; name: string; pid: number }
  | { type: 'reclaimed'; name: string; pid: number; lcore: number; results: ReclaimReport['results'] }
  /** A resource answered 'EBUSY' or 'EAGAIN' (a repair that must wait, or come first): tried again on every check, told once. */
  | { type: 'waiting'; name: string; pid: number; lcore: number; error: Error }
  /** A resource (`label`) failed: the slot is freed anyway (not counted as reclaimed), with what was reclaimed before it. */
  | { type: 'failed'; name: string; pid: number; lcore: number; label: string; error: Error; results: ReclaimReport['results'] };

/**
 * The full liveness check (start time, zombie state: /proc) runs on one look
 * in FULL_CHECK_EVERY; the looks between only ask whether each holder's pid
 * exists, which allocates nothing. A watch looks every few milliseconds
 * beside a forwarding loop, and /proc reads on every look were that process's
 * only garbage (its scavenges). A death is still seen on the next look; only
 * a pid left a zombie or reused waits for the next full check.
 */
const FULL_CHECK_EVERY = 10;
const NOTHING_TO_DO: Promise<void> = Promise.resolve();

export class HolderWatch {
  private running: Promise<void> | null = null;
  private looks = 0;
  /** Deaths already reported as waiting, by name and pid. */
  private readonly waiting = new Set<string>();

  constructor(
    private readonly holders: readonly Holder[],
    private readonly opts: { ownLcores?: readonly number[]; onEvent: (e: HolderEvent) => void },
  ) {}

  /** Looks at every holder once; a check already under way is joined, not repeated. */
  check(): Promise<void> {
    if (this.running === null && ++this.looks % FULL_CHECK_EVERY !== 0 && this.everyPidExists()) return NOTHING_TO_DO;
    this.running ??= this.checkAll().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private everyPidExists(): boolean {
    for (const h of this.holders) {
      const pid = h.owner.holderPid();
      if (pid !== 0 && !pidExists(pid)) return false;
    }
    return true;
  }

  private async checkAll(): Promise<void> {
    for (const h of this.holders) {
      const held = h.owner.read();
      if (held.pid === 0 || h.owner.holderAlive(held)) continue;
      await this.settle(h, held);
    }
  }

  /**
   * Whether a live process (this one's own, or a live active holder) runs as
   * lcore `id`: its pool cache is not ours to touch. A holder still joining
   * is not one: it makes no pool call until the dead holder of its lcore id
   * is gone, and counting it would skip the very repair it waits for.
   */
  private lcoreInUse(id: number, except: Holder): boolean {
    if (this.opts.ownLcores?.includes(id)) return true;
    return this.holders.some((h) => h !== except && h.lcore() === id && h.active() && h.owner.holderAlive());
  }

  private async settle(h: Holder, dead: Ownership): Promise<void> {
    if (!h.active()) {
      h.free(dead, false);
      this.opts.onEvent({ type: 'freed', name: h.name, pid: dead.pid });
      return;
    }
    h.reclaiming();
    const lcore = h.lcore() ?? -1;
    // It died without releasing its slot: as cautious as after a kill.
    const report = await reclaimAll(h.resources, { name: h.name, lcore, killed: true, lcoreInUse: (id) => this.lcoreInUse(id, h) });
    const key = `${h.name}/${dead.pid}`;
    // EBUSY: a repair that must wait; EAGAIN: a named vector or TX buffer
    // whose packets a pool call of the dead holder's still names. Both are
    // tried again; freed now, the slot would hand its lcore id on unrepaired.
    if (report.failed && (hasCode(report.failed.error, 'EBUSY') || hasCode(report.failed.error, 'EAGAIN'))) {
      if (!this.waiting.has(key)) {
        this.waiting.add(key);
        this.opts.onEvent({ type: 'waiting', name: h.name, pid: dead.pid, lcore, error: report.failed.error });
      }
      return;
    }
    this.waiting.delete(key);
    h.free(dead, report.failed === null);
    if (report.failed) {
      this.opts.onEvent({ type: 'failed', name: h.name, pid: dead.pid, lcore, label: report.failed.label, error: report.failed.error, results: report.results });
    } else {
      this.opts.onEvent({ type: 'reclaimed', name: h.name, pid: dead.pid, lcore, results: report.results });
    }
  }
}

/** One leased lcore id, and what identifies a lease across processes. */
import type { CpuSet } from './lease-args';
import { lcoreEalArgs } from './lease-args';

/** What identifies one lease: a slot's id, the generation it was given at, and its owner. */
export interface LeaseRef {
  readonly id: number;
  readonly generation: number;
  readonly ownerPid: number;
}

export interface LeaseInfo extends LeaseRef {
  /** Whether the owner still runs (and is the process that took the lease). */
  alive: boolean;
  /** When the owner got the id (ms since the Unix epoch); null while the claimer is still recording it. */
  since: number | null;
  role: string;
  socket: number;
}

/** What a Lease asks of the allocator that gave it. */
export interface LeaseHolder {
  release(lease: LeaseRef): boolean;
  holds(lease: LeaseRef): boolean;
}

/** A leased lcore id. Holding it means no other live lease has this id. */
export class Lease implements LeaseRef {
  constructor(
    private readonly allocator: LeaseHolder,
    readonly id: number,
    readonly generation: number,
    readonly ownerPid: number,
    readonly role: string,
    readonly socket: number,
  ) {}

  /**
   * Frees the id if this lease still holds it. Idempotent: false when it was
   * already released, reclaimed from a dead owner or transferred.
   */
  release(): boolean {
    return this.allocator.release(this);
  }

  /** Whether the slot still holds this exact lease (same generation and owner). */
  get held(): boolean {
    return this.allocator.holds(this);
  }

  /** `['--lcores=<id>@(<cpus>)']` for the process that will run with this id. */
  ealArgs(cpus: CpuSet): string[] {
    return lcoreEalArgs(this.id, cpus);
  }

  toJSON(): LeaseRef & { role: string; socket: number } {
    return { id: this.id, generation: this.generation, ownerPid: this.ownerPid, role: this.role, socket: this.socket };
  }
}

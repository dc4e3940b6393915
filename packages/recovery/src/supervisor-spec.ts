/**
 * What a Supervisor is given (its options and each slave's spec, checked with
 * zod) and what it tells (its events).
 */
import { cpuListSchema, cpuNumber, lcoreIdSchema, type LcoreAllocator } from '@mp/lcore-alloc';
import { z } from 'zod';
import type { CounterLayout } from './control-zone';
import { restartPolicySchema } from './restart-policy';
import type { ReclaimResult, Resource } from './resources';
import type { ExitReason, ProcessExit } from './supervised-process';

export type { ExitReason };

export const slaveSpecSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[\w.-]+$/, 'use letters, digits, _ . -'),
    /** Script the slave runs (.ts runs through tsx). */
    entry: z.string().min(1),
    /** Application arguments, after `--`. */
    args: z.array(z.string()).default([]),
    /** Extra EAL arguments for this slave. */
    ealArgs: z.array(z.string()).default([]),
    /**
     * Pinned: run as lcore `id` on CPU `cpu` (`--lcores=id@cpu`; cpu defaults
     * to id). Floating: lease an id from the supervisor's lcore allocator and
     * float over `cpus` (`--lcores=id@(cpus)`).
     */
    lcore: z.union([
      // A pinned slave's CPU: a number, or a CPU list (in EAL's parentheses or not).
      z.object({ id: lcoreIdSchema, cpu: z.union([cpuNumber, z.string().transform((s) => s.replace(/^\((.*)\)$/, '$1')).pipe(cpuListSchema)]).optional() }).strict(),
      z.object({ floating: z.literal(true), cpus: cpuListSchema }).strict(),
    ]),
    dependsOn: z.array(z.string()).default([]),
    /**
     * When a slave this one depends on dies: 'restart' stops this one too
     * (STOP, ACK, exit) and restarts it with the group; 'pause' only pauses
     * it (PAUSE, ACK, it stays attached and idle) and resumes it once the dead
     * slave is back, which is much faster than starting a process.
     */
    onDependencyExit: z.enum(['restart', 'pause']).default('restart'),
    /**
     * Keep a warm standby: a second process started the same way and attached
     * as a secondary, idle in SlaveLink.whenActive() and touching no pool or
     * lcore cache. After a crash, once the dead process's resources were
     * reclaimed, the standby is promoted instead of starting a new process,
     * and a new standby is started in the background. A floating slave's
     * standby holds its own lease; a pinned one's runs as the same lcore id,
     * which is safe because it touches nothing until promoted.
     */
    standby: z.boolean().default(false),
    env: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export type SlaveSpecInput = z.input<typeof slaveSpecSchema> & { resources?: readonly Resource[] };
export type SlaveSpec = z.output<typeof slaveSpecSchema> & { resources: readonly Resource[] };

export const optionsSchema = z
  .object({
    /** The group's --file-prefix (the primary's). */
    filePrefix: z.string().min(1).max(64),
    /** Name of the control memzone. */
    zoneName: z.string().min(1).max(31).default('mp_recovery_ctl'),
    /** EAL arguments every slave gets before its own (memory, log level, ...). */
    ealArgs: z.array(z.string()).default([]),
    /** The program slaves run under and its options; .ts entries default to tsx. */
    command: z.string().default(process.execPath),
    execArgv: z.array(z.string()).optional(),
    /** The supervisor's own lcore ids: never flushed, never given to slaves. */
    ownLcores: z.array(lcoreIdSchema).default([]),
    heartbeatTimeoutMs: z.number().int().min(10).max(600_000).default(500),
    startTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
    ackTimeoutMs: z.number().int().min(1).max(60_000).default(100),
    exitTimeoutMs: z.number().int().min(10).max(60_000).default(2_000),
    checkIntervalMs: z.number().int().min(1).max(1_000).default(10),
    restart: restartPolicySchema.default(restartPolicySchema.parse({})),
    output: z.enum(['inherit', 'pipe', 'ignore']).default('inherit'),
  })
  .strict();

export type SupervisorOptionsInput<C extends CounterLayout = CounterLayout> = z.input<typeof optionsSchema> & {
  /**
   * Leases lcore ids for floating slaves. The supervisor leases without
   * reclaiming dead owners' ids itself: an id is released only once what
   * its dead process left in the pools' per-lcore caches was reclaimed.
   */
  allocator?: LcoreAllocator;
  /** The slaves' counters (a t.struct of f64 fields), in their control-zone slots; slaves attach with the same layout. */
  counters?: C;
  /**
   * Runs after a group is stopped and reclaimed and before it restarts: the
   * place for what only the primary can do (stop ports, repair or re-create
   * pools, set queues up again, start ports).
   */
  beforeRestart?: (group: GroupInfo) => void | Promise<void>;
};
export type SupervisorOptions = z.output<typeof optionsSchema>;

export interface GroupInfo {
  /** Slaves that crashed, hung or failed to start. */
  readonly crashed: readonly string[];
  /** Those plus every slave depending on them (stopped by STOP/ACK). */
  readonly affected: readonly string[];
}

export interface ExitEvent extends ProcessExit {
  name: string;
  pid: number;
  lcore: number;
}

export interface SupervisorEvents {
  spawn: [{ name: string; pid: number; lcore: number; generation: number; role: 'active' | 'standby' }];
  /** The slave's process runs: started and attached, or a standby promoted (startMs: promote -> ACK). */
  ready: [{ name: string; pid: number; lcore: number; startMs: number; promoted: boolean }];
  'standby-ready': [{ name: string; pid: number; lcore: number; startMs: number }];
  /** A standby could not be started (no lcore id left to lease, say): the slave runs on without one and restarts cold. */
  'standby-error': [{ name: string; error: Error }];
  'standby-exit': [{ name: string; pid: number; lcore: number; code: number | null; signal: NodeJS.Signals | null; reason: ExitReason; respawnInMs: number | null }];
  exit: [ExitEvent];
  hang: [{ name: string; pid: number; silentMs: number }];
  /** Silent past the heartbeat timeout but runnable and given no CPU (a crowded machine): watched on, not killed. */
  starved: [{ name: string; pid: number; silentMs: number }];
  /**
   * ackMs: for 'acked', from posting the command to the slave's ACK by the
   * slave's own timestamp (the slave's reaction, not the supervisor's polling
   * delay); otherwise how long the supervisor waited.
   */
  stop: [{ name: string; pid: number; mode: 'stop' | 'pause'; outcome: 'acked' | 'ack-timeout' | 'not-attached' | 'exited'; ackMs: number }];
  resume: [{ name: string; pid: number; outcome: 'acked' | 'ack-timeout' | 'exited'; ackMs: number }];
  reclaim: [{ name: string; lcore: number; unaccountedBuffers: number; counters: Record<string, unknown>; resources: Array<{ label: string } & ReclaimResult> }];
  'reclaim-error': [{ name: string; label: string; error: Error }];
  'restart-scheduled': [{ name: string; delayMs: number; recentCrashes: number }];
  'gave-up': [{ name: string; reason: string; error: Error }];
  recovered: [{ crashed: string[]; affected: string[]; restarted: string[]; promoted: string[]; resumed: string[]; downtimeMs: number }];
  output: [{ name: string; stream: 'stdout' | 'stderr'; line: string }];
}


export type SlaveStatus = 'down' | 'starting' | 'running' | 'paused' | 'stopping' | 'failed';

export interface SlaveInfo {
  name: string;
  status: SlaveStatus;
  pid: number;
  lcore: number;
  restarts: number;
  /** The slave's declared counters ({} without). */
  counters: Record<string, unknown>;
  standby: { pid: number; lcore: number; status: 'starting' | 'idle' | 'stopping' } | null;
}

/**
 * EAL lifecycle: init once per process (synchronously, on the main thread),
 * queries, and cleanup that runs by itself at process exit.
 */
import path from 'node:path';
import { applyEalDefaults, buildEalArgs, ealOptionValue, filePrefixOf, parseEalArgs, splitArgv, type EalConfig } from './eal-args';
import { dpdkError } from './errors';
import { runtimeDirFor } from './machine';
import { native, type EalState, type Lcore, type MemoryStats } from './native';

export { runtimeDirFor };

export type ProcessType = 'primary' | 'secondary';
export type { EalState, Lcore, MemoryStats };

let exitHookInstalled = false;

function programName(): string {
  return path.basename(process.argv[1] ?? 'node', path.extname(process.argv[1] ?? ''));
}

/**
 * A secondary with no primary would fail inside rte_eal_init, which cannot be
 * retried in this process; checking first keeps EAL uninitialised so the
 * caller can wait for the primary and try again.
 */
function requirePrimaryFor(ealArgs: string[]): void {
  const opts = parseEalArgs(ealArgs, { secondariesWillAttach: false });
  const prefix = filePrefixOf(opts);
  if (ealOptionValue(opts, '--proc-type') === 'secondary' && !primaryProcessAlive(prefix)) {
    throw dpdkError(
      'ENOENT',
      'initEal',
      `no primary process is running with --file-prefix=${prefix}; start the primary first (or use --proc-type=auto)`,
    );
  }
}

function runEalInit(requested: string[]): string[] {
  const ealArgs = applyEalDefaults(requested);
  if (native.ealState() !== 'uninitialised') {
    throw dpdkError(
      'EALREADY',
      'initEal',
      'EAL can be initialised once per process (DPDK keeps its state until exit); to attach again, start a new process',
    );
  }
  requirePrimaryFor(ealArgs);
  native.ealInit([programName(), ...ealArgs]);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      cleanup();
    });
  }
  return ealArgs;
}

/** Initialises EAL from a typed config. Returns the EAL argv that was used. */
export function initEal(config: EalConfig): { ealArgs: string[] } {
  return { ealArgs: runEalInit(buildEalArgs(config)) };
}

/**
 * Initialises EAL from DPDK-style argv, `[EAL args] -- [app args]`, the way a
 * DPDK application's main() does, and returns the application's arguments.
 * Arguments are checked before they reach C (see parseEalArgs).
 */
export function initEalFromArgv(
  argv: readonly string[],
  opts: { secondariesWillAttach?: boolean } = {},
): { ealArgs: string[]; appArgs: string[] } {
  const { ealArgs, appArgs } = splitArgv(argv);
  parseEalArgs(ealArgs, opts);
  return { ealArgs: runEalInit(ealArgs), appArgs };
}

export function ealState(): EalState {
  return native.ealState();
}

function requireEal(op: string): void {
  const state = native.ealState();
  if (state === 'initialised') return;
  if (state === 'cleaned-up' || state === 'abandoned') {
    throw dpdkError('E_EAL_CLOSED', op, 'EAL was cleaned up in this process; start a new process to use DPDK again');
  }
  throw dpdkError('E_EAL_NOT_INITIALISED', op, 'EAL is not initialised; call initEal() first');
}

export function processType(): ProcessType {
  requireEal('processType');
  const t = native.processType();
  if (t === null) throw dpdkError('EINVAL', 'processType', 'EAL reports no process type');
  return t;
}

/** Enabled lcores with their socket and CPU. */
export function lcores(): Lcore[] {
  return native.lcores();
}

export function mainLcore(): number {
  return native.lcoreInfo().main;
}

export function lcoreCount(): number {
  return native.lcoreInfo().count;
}

/** The calling thread's lcore id (the main thread's is the main lcore). */
export function currentLcore(): number | null {
  return native.lcoreInfo().current;
}

/**
 * Whether a primary process is alive: the current group's (after initEal), or
 * the group of `filePrefix` (works before initEal too). A primary asking for
 * its own group is answered without opening its config file, whose lock
 * would go with the close.
 */
export function primaryProcessAlive(filePrefix?: string): boolean {
  if (filePrefix !== undefined) {
    return native.primaryProcessAlive(path.join(runtimeDirFor(filePrefix), 'config'));
  }
  requireEal('primaryProcessAlive');
  return native.primaryProcessAlive();
}

export function runtimeDir(): string {
  return native.runtimeDir();
}

/** DPDK's version string as the loaded library reports it, e.g. "DPDK 22.11.11". */
export function dpdkVersion(): string {
  return native.version.loadedString;
}


/** Hugepage memory mapped by EAL and malloc-heap usage per socket. */
export function memoryStats(): MemoryStats {
  return native.memoryStats();
}

/**
 * Frees every memzone this process created, invalidates every handle, calls
 * rte_eal_cleanup and, in a primary, removes the runtime directory. Idempotent;
 * also runs by itself when the process exits normally. Returns whether it did
 * anything.
 */
export function cleanup(): boolean {
  return native.cleanup();
}

/**
 * For a process whose primary has gone: ends this process's use of DPDK
 * without touching anything shared. A dead primary may have left EAL's
 * locks held or its memory half written, and cleanup() would take those
 * locks (freeing memzones, detaching memory) and could hang at exit. Every
 * handle is closed without a DPDK call and EAL counts as cleaned up, so the
 * exit hook does nothing; packets this process held are lost with the
 * group. Returns whether it did anything (false before init or after
 * cleanup). The process should exit soon after.
 */
export function abandon(): boolean {
  return native.abandon();
}

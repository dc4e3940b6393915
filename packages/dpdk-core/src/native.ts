/**
 * The one loader of the native addon, and the whole shape the addon shows to
 * JavaScript: every function, class and object the C++ side exports is
 * declared in `Binding` below, grouped by the native/*.cc file whose Init*()
 * function exports it. Everything that touches C goes through the `native`
 * object exported here; the rest of the package adds validation and types on
 * top.
 *
 * Packet-path functions ("through the frame") take their numbers in
 * fastcall.ts's fastArgs and return a count in fastResult (native/fastcall.h).
 */
import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { DpdkError, errnoOf } from './errors';
import type { LinkStatus, PortConfigured, PortInfo, PortStats } from './ethdev';
import type { MempoolSummary, RingSummary } from './inspect';
import { addonLoadError, checkDpdkVersion } from './load-error';
import type { Mempool, MempoolCache } from './mempool';
import type { MempoolAudit } from './mempool-audit';
import type { MempoolRingState, PoolActivity, PoolFailpoint, RepairResult } from './mempool-repair';
import type { TelemetryValue } from './telemetry';
import type { TxBuffer } from './txbuffer';
import type { ReclaimedVector } from './vector';

// ---- native/eal.cc -------------------------------------------------------

export type EalState = 'uninitialised' | 'initialised' | 'failed' | 'cleaned-up' | 'abandoned';

export interface Lcore {
  id: number;
  socket: number;
  /** The CPUs its thread may run on, as -l/--lcores set them (`--lcores=2@(0-1)`: [0, 1]). */
  cpus: number[];
  /** The lowest of `cpus` (null if EAL gave it none). */
  cpu: number | null;
  main: boolean;
}

export interface MemoryStats {
  hugepageBytes: number;
  pageSize: number;
  hasHugepages: boolean;
  sockets: Array<{
    socket: number;
    heapTotalBytes: number;
    heapFreeBytes: number;
    heapAllocatedBytes: number;
    greatestFreeBytes: number;
    allocCount: number;
    freeCount: number;
  }>;
}

// ---- native/addon.cc -----------------------------------------------------

/** The DPDK this addon was compiled against, and the one actually loaded. */
export interface DpdkVersions {
  built: string;
  loaded: string;
  loadedString: string;
  pkgConfig: string;
}

// ---- native/memzone.cc ---------------------------------------------------

/** A memzone handle: a zero-copy view and native atomics on 32/64-bit words at byte offsets. */
export interface Memzone {
  readonly name: string;
  readonly length: number;
  readonly socket: number;
  /** Whether this process reserved it (only the creator frees it). */
  readonly created: boolean;
  readonly closed: boolean;
  view(): ArrayBuffer;
  free(): void;
  close(): void;
  load32(offset: number): number;
  store32(offset: number, value: number): void;
  compareExchange32(offset: number, expected: number, desired: number): number;
  add32(offset: number, delta: number): number;
  load64(offset: number): bigint;
  store64(offset: number, value: bigint): void;
  compareExchange64(offset: number, expected: bigint, desired: bigint): bigint;
  add64(offset: number, delta: bigint): bigint;
}

// ---- native/burst.cc -----------------------------------------------------

/** What every Burst is, from the native Burst class (burst.ts's Burst extends it). */
export interface BurstBase {
  readonly id: number;
  /** Packets held, at indexes 0..length-1. */
  readonly length: number;
  readonly capacity: number;
  /** Frees every packet held (back to its pool); returns how many. */
  free(): number;
  /** Frees the packets from `index` on (what a partial send left); returns how many. */
  freeFrom(index: number): number;
  /**
   * Moves packets [start, start+count) (default: all from start) to the end
   * of `target`, keeping their order; all or nothing. Returns how many moved.
   */
  moveTo(target: BurstBase, start?: number, count?: number): number;
  /** Total length in bytes of packet `index`. */
  packetLength(index: number): number;
  /** Resizes a single-segment packet (up to its buffer's tailroom). */
  setPacketLength(index: number, length: number): void;
  /** Copies min(target.length, packetLength - offset) bytes into target; returns how many. */
  readBytes(index: number, offset: number, target: Uint8Array): number;
  /** Copies all of source into the packet at offset (must lie inside the packet). */
  writeBytes(index: number, offset: number, source: Uint8Array): void;
  /**
   * Appends one packet per frame holding its bytes, or `count` copies of one
   * template. All or nothing: returns the number added, 0 if the pool ran dry.
   */
  allocPackets(pool: Mempool, frames: readonly Uint8Array[]): number;
  allocPackets(pool: Mempool, template: Uint8Array, count: number): number;
}

// ---- native/ring.cc ------------------------------------------------------

/** The native ring handle: control-plane methods (ring.ts's Ring says what they do). */
export interface NativeRing {
  readonly name: string;
  readonly elementSize: number;
  readonly packets: boolean;
  readonly flags: number;
  readonly created: boolean;
  readonly closed: boolean;
  readonly size: number;
  readonly capacity: number;
  readonly socket: number;
  count(): number;
  freeCount(): number;
  reset(): number;
  free(): void;
  close(): void;
  enqueueElems(bytes: Uint8Array, n: number, bulk: boolean): number;
  dequeueElems(bytes: Uint8Array, n: number, bulk: boolean): number;
  fastPath(): NativeRingFastPath;
}

/** One ring's packet path, through the frame: enqueue*(burstId), dequeueBurst(burstId, max or Infinity), dequeueBulk(burstId, n). */
export interface NativeRingFastPath {
  enqueueBurst(): void;
  enqueueBulk(): void;
  dequeueBurst(): void;
  dequeueBulk(): void;
}

// ---- native/mempool.cc ---------------------------------------------------

/** Made by a pool's createCache(); the class is in native/mempool_cache.cc. */
export type NativeMempoolCache = Omit<MempoolCache, 'allocBulk' | 'freeBurst'> & {
  /** Through the frame: allocBulk(burstId, n), freeBurst(burstId). */
  fastPath(): { allocBulk(): void; freeBurst(): void };
};

export type NativeMempool = Omit<Mempool, 'allocBulk' | 'createCache'> & {
  /** Through the frame: allocBulk(burstId, n). */
  fastPath(): { allocBulk(): void };
  createCache(size: number, socket: number): NativeMempoolCache;
};

// ---- native/txbuffer.cc --------------------------------------------------

export type NativeTxBuffer = Omit<TxBuffer, 'buffer' | 'flush'> & {
  /** Through the frame: buffer(burstId), flush(). */
  fastPath(): { buffer(): void; flush(): void };
};

// ---- native/vector.cc ----------------------------------------------------

/**
 * Where each typed array of a packet vector sits: `off`, `len`, `discarded`
 * and `count` in its `meta` buffer (kept by src/vector.ts), the others in its
 * `io` buffer (behind the vector's public arrays).
 */
export interface NativeVectorLayout {
  off: number;
  len: number;
  port: number;
  dest: number;
  received: number;
  sent: number;
  dropped: number;
  discarded: number;
  count: number;
}

export interface NativePacketVector {
  readonly meta: ArrayBuffer;
  readonly io: ArrayBuffer;
  readonly layout: NativeVectorLayout;
  readonly settled: { requeued: number; freed: number };
  readonly closed: boolean;
  readonly buffered: number;
  /** Through the frame: each returns a count in fastResult (native/vector_path.cc). */
  fastPath(): { fill(): void; send(): void; flush(): void; free(): void };
  why(index: number): string | undefined;
  armFailpoint(name: string): void;
  close(): void;
}

/** What the native PacketVector constructor takes per output: the validated options, flattened. */
export type NativeVectorOutput =
  | { port: number; queue: number; bufferSize?: number; bufferName?: string }
  | { ring: unknown; bulk: boolean; bulkLimit: number };

// ---- native/ethdev.cc ----------------------------------------------------

export interface PortSummary {
  id: number;
  name: string;
  mac: string;
  socket: number;
}

export interface Binding {
  // native/addon.cc
  version: DpdkVersions;
  setErrorFactory(factory: (code: string, errno: number, op: string, message: string) => Error): void;

  // native/fastcall.cc
  fastFrame: ArrayBuffer;
  /** Through the frame: CLOCK_MONOTONIC in ms into fastArgs[0]. */
  monotonicMs(): void;

  // native/eal.cc
  ealInit(argv: string[]): number;
  ealState(): EalState;
  processType(): 'primary' | 'secondary' | null;
  lcores(): Lcore[];
  lcoreInfo(): { count: number; main: number; current: number | null; maxLcore: number; socketCount: number };
  primaryProcessAlive(configPath?: string): boolean;
  runtimeDir(): string;
  memoryStats(): MemoryStats;
  cleanup(): boolean;
  abandon(): boolean;

  // native/memzone.cc
  reserveMemzone(name: string, length: number, socket: number, align: number): Memzone;
  lookupMemzone(name: string): Memzone;
  walkMemzones(): Array<{ name: string; length: number; socket: number; hugepageSize: number }>;

  // native/ethdev.cc
  portList(): PortSummary[];
  portCount(): number;
  portInfo(port: number): PortInfo;
  portLink(port: number): LinkStatus;
  portConfigure(port: number, rxQueues: number, txQueues: number, rxDesc: number, txDesc: number, rss: boolean, txFastFree: boolean): PortConfigured;
  portRxQueueSetup(port: number, queue: number, desc: number, pool: Mempool, socket?: number): void;
  portTxQueueSetup(port: number, queue: number, desc: number, socket?: number): void;
  portStart(port: number): void;
  portStop(port: number): void;
  portClose(port: number): void;
  portPromiscuous(port: number, enable?: boolean): boolean;
  portStats(port: number): PortStats;
  portXstats(port: number): Array<{ name: string; value: number }>;
  portStatsReset(port: number): void;
  /** Through the frame: port, queue, burst id. */
  rxBurst(): void;
  txBurst(): void;

  // native/burst.cc
  Burst: new (capacity: number) => BurstBase;
  /** Through the frame: fromId, toId, start, count or Infinity. */
  burstMoveTo(): void;
  /** The N-API floor for benchmarks: a call that does nothing. */
  calibrationEmptyCall(): void;
  /** The same with a packet-path shape: a burst id through the frame; returns its length. */
  calibrationBurstCall(): void;

  // native/ring.cc
  ringCreate(name: string, count: number, socket: number, flags: number): NativeRing;
  ringCreateElem(name: string, elemSize: number, count: number, socket: number, flags: number): NativeRing;
  ringLookup(name: string, elemSize: number): NativeRing;

  // native/mempool.cc
  createPktmbufPool(name: string, size: number, cacheSize: number, dataRoomSize: number, privSize: number, socket: number): NativeMempool;
  lookupMempool(name: string): NativeMempool;

  // native/txbuffer.cc, native/txzone.cc
  TxBuffer: new (port: number, queue: number, size: number, name?: string) => NativeTxBuffer;
  reclaimTxBuffer(name: string, freeZone: boolean): number;

  // native/vector.cc
  maxVector: number;
  PacketVector: new (
    capacity: number,
    pool: Mempool,
    input: { ports: Array<{ port: number; queue: number }>; burstSize: number } | { ring: unknown },
    outputs: NativeVectorOutput[],
    name: string | undefined,
    counters: { array: BigUint64Array<ArrayBufferLike>; received?: number[]; sent?: number[]; dropped?: number[] } | undefined,
    bytes: boolean,
    prefetch: boolean,
  ) => NativePacketVector;
  reclaimPacketVector(name: string): ReclaimedVector;

  // native/mempool_repair.cc
  mempoolRingState(pool: Mempool): MempoolRingState;
  repairMempool(pool: Mempool, lcore: number, settleMs: number, maxPut: number, pid: number): RepairResult;

  // native/activity.cc
  armPoolFailpoint(name: PoolFailpoint, skip: number): void;
  poolActivity(lcore: number): PoolActivity | null;

  // native/mempool_audit.cc
  auditMempool(pool: Mempool, rings: string[], txBuffers: string[], bursts: number[]): MempoolAudit;

  // native/telemetry.cc, native/telemetry_client.cc
  registerTelemetry(cmd: string, help: string): void;
  publishTelemetry(cmd: string, keys: string[], values: TelemetryValue[]): void;
  telemetryRequest(socketPath: string, command: string): string;

  // native/inspect.cc
  walkRings(): RingSummary[];
  walkMempools(): MempoolSummary[];
  /** `locked`: an fcntl lock is held (or cannot be tested); `lockPid`: its holder when the kernel names one (else 0); `flocked`: a flock is held (or cannot be tested). */
  fileLocks(path: string): { exists: boolean; locked: boolean; lockPid: number; flocked: boolean; unreadable?: string };
  /** Unlinks a hugepage file under an exclusive flock (EAL's clear_hugedir rule); false when a process holds it. */
  unlinkIfUnlocked(path: string): boolean;
  /** Empties and removes a dead group's runtime directory under its config file's write lock (EBUSY if held); returns the entries left (directories). */
  removeDeadRuntimeDir(dir: string): string[];

  // native/capture.cc
  enableCapture(): boolean;
}

function load(): Binding {
  let addon: Binding;
  try {
    addon = nodeGypBuild(path.join(__dirname, '..')) as Binding;
  } catch (e) {
    throw addonLoadError(e);
  }
  checkDpdkVersion(addon.version);
  // C++ passes rte_errno when DPDK set one, 0 when it names the code itself: the code then gives the errno (errors.ts).
  addon.setErrorFactory((code, errno, op, message) => new DpdkError(code, errno === 0 ? errnoOf(code) : errno, op, message));
  return addon;
}

export const native: Binding = load();

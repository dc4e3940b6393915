/**
 * Packet-buffer pools (rte_pktmbuf_pool_create / rte_mempool_lookup), their
 * counts and per-lcore caches, and user-owned caches for threads or processes
 * without a unique lcore id.
 */
import { z } from 'zod';
import { burstId, type Burst } from './burst';
import { fastArgs, fastResult, frameNumber } from './fastcall';
import { ANY_SOCKET } from './memzone';
import { validate } from './validate';
import { native, type NativeMempool, type NativeMempoolCache } from './native';

/** RTE_MEMPOOL_NAMESIZE is 29 - sizeof("MP_") + 1 = 26 with the NUL. */
export const MEMPOOL_NAME_MAX = 25;
/** RTE_MEMPOOL_CACHE_MAX_SIZE. */
export const MEMPOOL_CACHE_MAX = 512;
/** RTE_MBUF_DEFAULT_BUF_SIZE: 2048 bytes of data plus RTE_PKTMBUF_HEADROOM (128). */
export const MBUF_DEFAULT_BUF_SIZE = 2048 + 128;
/** RTE_PKTMBUF_HEADROOM. */
export const MBUF_HEADROOM = 128;
/** RTE_MAX_LCORE. */
const LCORE_ID_MAX = 127;

/** A cache owned by its creator (rte_mempool_cache_create), not by an lcore id. */
export interface MempoolCache {
  readonly size: number;
  /** Objects currently held by the cache. */
  readonly count: number;
  readonly closed: boolean;
  /** Appends n fresh packets to the burst through the cache: n or 0 (all or nothing). */
  allocBulk(burst: Burst, n: number): number;
  /** Frees every packet of the burst through the cache (it ends empty); returns how many. */
  freeBurst(burst: Burst): number;
  /** Returns every cached object to the pool. */
  flush(): void;
  /** Flushes and frees the cache. Idempotent. */
  close(): void;
}

export interface Mempool {
  readonly name: string;
  /** Number of buffers. */
  readonly size: number;
  /** Per-lcore cache size (0: no per-lcore caches). */
  readonly cacheSize: number;
  /** Bytes per buffer including RTE_PKTMBUF_HEADROOM. */
  readonly dataRoomSize: number;
  readonly privSize: number;
  readonly socket: number;
  /** Whether this process created the pool (only the creator frees it). */
  readonly created: boolean;
  readonly closed: boolean;
  /** Buffers in the pool, counting those in per-lcore caches. */
  availableCount(): number;
  /** Buffers out of the pool: in bursts, rings, TX buffers and port queues, in any process. */
  inUseCount(): number;
  /** Objects in the default cache of `lcoreId`. */
  cacheCount(lcoreId: number): number;
  /**
   * Empties the default cache of `lcoreId` into the pool and returns how many
   * objects it held. Per-lcore caches are not thread safe: only call this for
   * an lcore id no live thread or process uses (reclaiming a dead process's cache).
   */
  flushCache(lcoreId: number): number;
  /** Appends n fresh packets to the burst (rte_pktmbuf_alloc_bulk): n or 0, all or nothing. */
  allocBulk(burst: Burst, n: number): number;
  /** A user-owned cache of `size` objects (see MempoolCache). */
  createCache(size: number, socket: number): MempoolCache;
  /**
   * Creator only: frees the pool (rte_mempool_free). Refused with 'EBUSY' while
   * buffers are in use; stop and close the ports using it first. Idempotent.
   */
  free(): void;
  /** Drops this process's handle (and its user caches) without freeing the pool. Idempotent. */
  close(): void;
}

/** A user cache's handle: control through the native object, the packet path through functions bound to it. */
class MempoolCacheHandle implements MempoolCache {
  private readonly n: NativeMempoolCache;
  private readonly fast: ReturnType<NativeMempoolCache['fastPath']>;

  constructor(n: NativeMempoolCache) {
    this.n = n;
    this.fast = n.fastPath();
  }

  get size(): number {
    return this.n.size;
  }
  get count(): number {
    return this.n.count;
  }
  get closed(): boolean {
    return this.n.closed;
  }
  allocBulk(burst: Burst, n: number): number {
    const id = burstId(burst);
    const count = frameNumber(n, 'count');
    fastArgs[0] = id;
    fastArgs[1] = count;
    this.fast.allocBulk();
    return fastResult[0] as number;
  }
  freeBurst(burst: Burst): number {
    fastArgs[0] = burstId(burst);
    this.fast.freeBurst();
    return fastResult[0] as number;
  }
  flush(): void {
    this.n.flush();
  }
  close(): void {
    this.n.close();
  }
}

/**
 * Pool handles stay the native objects (other native calls take them, e.g.
 * queue setup), one per pool per process; their burst-moving methods are
 * installed once per handle as own properties over functions bound to the
 * pool (native/fastcall.h).
 */
function handle(n: NativeMempool): Mempool {
  if (!Object.hasOwn(n, 'allocBulk')) {
    const alloc = n.fastPath().allocBulk;
    const createCache = n.createCache;
    Object.defineProperties(n, {
      allocBulk: {
        value: (burst: Burst, count: number): number => {
          const id = burstId(burst);
          const n = frameNumber(count, 'count');
          fastArgs[0] = id;
          fastArgs[1] = n;
          alloc();
          return fastResult[0] as number;
        },
      },
      createCache: {
        value: (size: number, socket: number): MempoolCache => new MempoolCacheHandle(createCache.call(n, size, socket)),
      },
    });
  }
  return n as unknown as Mempool;
}

export const mempoolNameSchema = z
  .string()
  .min(1, 'a mempool name must not be empty')
  .max(MEMPOOL_NAME_MAX, `a mempool name has at most ${MEMPOOL_NAME_MAX} characters (RTE_MEMPOOL_NAMESIZE)`)
  .regex(/^[\x21-\x7e]+$/, 'use printable ASCII without spaces');

export const pktmbufPoolOptionsSchema = z
  .object({
    size: z.number().int().min(1).max(0x7fffffff),
    cacheSize: z.number().int().min(0).max(MEMPOOL_CACHE_MAX).default(0),
    dataRoomSize: z.number().int().min(0).max(0xffff).default(MBUF_DEFAULT_BUF_SIZE),
    privSize: z
      .number()
      .int()
      .min(0)
      .max(0xffff)
      .refine((n) => n % 8 === 0, 'privSize must be a multiple of 8 (RTE_MBUF_PRIV_ALIGN)')
      .default(0),
    socket: z.number().int().min(-1).max(63).default(ANY_SOCKET),
  })
  .strict()
  .refine((o) => Math.floor(o.cacheSize * 1.5) <= o.size, {
    message: 'cacheSize * 1.5 must not exceed size (rte_mempool_create refuses bigger caches)',
    path: ['cacheSize'],
  });

export type PktmbufPoolOptions = z.input<typeof pktmbufPoolOptionsSchema>;

const cacheOptionsSchema = z
  .object({
    size: z.number().int().min(1).max(MEMPOOL_CACHE_MAX),
    socket: z.number().int().min(-1).max(63).default(ANY_SOCKET),
  })
  .strict();

export const lcoreIdSchema = z.number().int().min(0).max(LCORE_ID_MAX);

/** Creates a pool of packet buffers (usually in the primary). Only its creator frees it. */
export function createPktmbufPool(name: string, opts: PktmbufPoolOptions): Mempool {
  const n = validate(mempoolNameSchema, name, 'createPktmbufPool', 'mempool name');
  const o = validate(pktmbufPoolOptionsSchema, opts, 'createPktmbufPool', 'options');
  return handle(native.createPktmbufPool(n, o.size, o.cacheSize, o.dataRoomSize, o.privSize, o.socket));
}

/** Looks up a pool another process created; 'ENOENT' if there is none. */
export function lookupMempool(name: string): Mempool {
  return handle(native.lookupMempool(validate(mempoolNameSchema, name, 'lookupMempool', 'mempool name')));
}

/** A user-owned cache on `pool` for a thread or process without a unique lcore id. */
export function createMempoolCache(pool: Mempool, opts: z.input<typeof cacheOptionsSchema>): MempoolCache {
  const o = validate(cacheOptionsSchema, opts, 'createMempoolCache', 'options');
  return pool.createCache(o.size, o.socket);
}

/**
 * TX buffers (rte_eth_dev_tx_buffer) per port and queue, as the
 * client_server_mp client uses them: buffer a whole burst in one call, flush
 * when idle, and count what the device refused as dropped (those packets are
 * freed, like the sample's flush_tx_error_callback). A named buffer lives in
 * a memzone, so that after its process dies another one (the primary) can
 * give the packets it held back to their pools with reclaimTxBuffer.
 */
import { z } from 'zod';
import { BURST_CAPACITY_MAX, burstId, type Burst } from './burst';
import { portIdSchema } from './ethdev';
import { fastArgs, fastResult } from './fastcall';
import { memzoneNameSchema } from './memzone';
import { validate } from './validate';
import { native, type NativeTxBuffer } from './native';

export interface TxBuffer {
  readonly port: number;
  readonly queue: number;
  /** Packets buffered before a send happens by itself. */
  readonly size: number;
  /** Packets waiting in the buffer. */
  readonly length: number;
  /** Packets the device refused on a send from this buffer (freed), plus those dropped by free(). */
  readonly dropped: number;
  readonly closed: boolean;
  /** Takes every packet of the burst (it ends empty); returns how many were sent during the call. */
  buffer(burst: Burst): number;
  /** Sends what is buffered; returns how many went (the rest count as dropped). */
  flush(): number;
  /** Frees waiting packets (counted as dropped) and the buffer. Idempotent. */
  free(): void;
  close(): void;
}

/** The handle: control through the native object, the packet path through functions bound to the buffer. */
class TxBufferHandle implements TxBuffer {
  private readonly n: NativeTxBuffer;
  private readonly fastBuffer: () => void;
  private readonly fastFlush: () => void;
  /** An own property, as before: callers may keep it detached. */
  readonly flush = (): number => {
    this.fastFlush();
    return fastResult[0] as number;
  };

  constructor(n: NativeTxBuffer) {
    this.n = n;
    const fast = n.fastPath();
    this.fastBuffer = fast.buffer;
    this.fastFlush = fast.flush;
  }

  get port(): number {
    return this.n.port;
  }
  get queue(): number {
    return this.n.queue;
  }
  get size(): number {
    return this.n.size;
  }
  get length(): number {
    return this.n.length;
  }
  get dropped(): number {
    return this.n.dropped;
  }
  get closed(): boolean {
    return this.n.closed;
  }
  buffer(burst: Burst): number {
    fastArgs[0] = burstId(burst);
    this.fastBuffer();
    return fastResult[0] as number;
  }
  free(): void {
    this.n.free();
  }
  close(): void {
    this.n.close();
  }
}

const txBufferOptionsSchema = z
  .object({
    size: z.number().int().min(1).max(BURST_CAPACITY_MAX).default(32),
    /**
     * The memzone holding the buffer: looked up, or reserved if absent. A
     * buffer found is one a dead owner left; what it still lists is freed
     * first (counted as dropped). One live owner per name.
     */
    name: memzoneNameSchema.optional(),
  })
  .strict();

/**
 * A TX buffer for port/queue (the port must be configured with that tx queue).
 * With `name`, it lives in that memzone (see reclaimTxBuffer); free() frees
 * the zone too.
 */
export function createTxBuffer(port: number, queue: number, opts: z.input<typeof txBufferOptionsSchema> = {}): TxBuffer {
  const p = validate(portIdSchema, port, 'createTxBuffer', 'port id');
  const q = validate(z.number().int().min(0).max(1023), queue, 'createTxBuffer', 'queue');
  const o = validate(txBufferOptionsSchema, opts, 'createTxBuffer', 'options');
  const n = o.name === undefined ? new native.TxBuffer(p, q, o.size) : new native.TxBuffer(p, q, o.size, o.name);
  return new TxBufferHandle(n);
}

const reclaimOptionsSchema = z
  .object({
    /** Also free the memzone (a replacement then reserves a new one). */
    freeZone: z.boolean().default(false),
  })
  .strict();

/**
 * For a named TX buffer whose owner is gone (killed): the packets it still
 * lists go back to their pools (rte_pktmbuf_free_bulk) and it is left empty;
 * returns how many. Only once the owner cannot run any more — a live owner
 * would send or free the same packets. ENOENT if no such buffer exists.
 */
export function reclaimTxBuffer(name: string, opts: z.input<typeof reclaimOptionsSchema> = {}): number {
  const n = validate(memzoneNameSchema, name, 'reclaimTxBuffer', 'tx buffer name');
  const o = validate(reclaimOptionsSchema, opts, 'reclaimTxBuffer', 'options');
  return native.reclaimTxBuffer(n, o.freeZone);
}

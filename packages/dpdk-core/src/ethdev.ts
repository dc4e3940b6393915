/**
 * Ethernet ports. A port id is what every process of a group shares, so the
 * `Port` handle wraps an id. The primary configures, sets up queues, starts,
 * stops and closes ports; a secondary gets 'E_RTE_SECONDARY' for those (before
 * DPDK is called) and may rx/tx on the queues the primary set up.
 *
 * `rxBurst`/`txBurst` are the native functions themselves: the packet path
 * has no JS layer, and C++ checks port and queue against the fast-path table
 * so a bad id throws instead of reaching the driver.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { burstId, type Burst } from './burst';
import { dpdkError } from './errors';
import { fastArgs, fastResult, frameNumber } from './fastcall';
import type { Mempool } from './mempool';
import { validate } from './validate';
import { native, type PortSummary } from './native';

export type { PortSummary };

/** RTE_MAX_ETHPORTS. */
export const MAX_PORTS = 32;
/** The descriptor count asked for when none is given (the C samples' 1024). */
export const DEFAULT_DESC = 1024;

export interface PortInfo extends PortSummary {
  driver: string;
  maxRxQueues: number;
  maxTxQueues: number;
  /** Queues as configured now. */
  rxQueues: number;
  txQueues: number;
  rxDescMax: number;
  txDescMax: number;
  /** dev_info.flow_type_rss_offloads: the hash types the device supports. */
  rssOffloads: bigint;
  rssSupported: boolean;
  txFastFreeSupported: boolean;
}

export interface LinkStatus {
  up: boolean;
  speedMbps: number;
  fullDuplex: boolean;
  autoneg: boolean;
}

export interface PortStats {
  ipackets: number;
  opackets: number;
  ibytes: number;
  obytes: number;
  imissed: number;
  ierrors: number;
  oerrors: number;
  rxNoMbuf: number;
}

/** What configure() applied: descriptor counts after rte_eth_dev_adjust_nb_rx_tx_desc, RSS and fast free in use. */
export interface PortConfigured {
  rxDesc: number;
  txDesc: number;
  rss: boolean;
  txFastFree: boolean;
}

export const portIdSchema = z
  .number()
  .int('a port id is an integer')
  .min(0, 'a port id is >= 0')
  .max(MAX_PORTS - 1, `a port id is < ${MAX_PORTS} (RTE_MAX_ETHPORTS)`);

const queueSchema = z.number().int().min(0).max(1023);

export const portConfigSchema = z
  .object({
    rxQueues: z.number().int().min(0).max(1024).default(1),
    txQueues: z.number().int().min(0).max(1024).default(1),
    rxDesc: z.number().int().min(1).max(0xffff).default(DEFAULT_DESC),
    txDesc: z.number().int().min(1).max(0xffff).default(DEFAULT_DESC),
    /** RSS over IP/TCP/UDP where the device hashes them; ignored (no RSS) where it does not. */
    rss: z.boolean().default(true),
    /** RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE where supported: only if every packet sent comes from one pool with refcnt 1. */
    txFastFree: z.boolean().default(false),
  })
  .strict()
  .refine((c) => c.rxQueues + c.txQueues > 0, 'a port needs at least one rx or tx queue');

export type PortConfig = z.input<typeof portConfigSchema>;

const queueSetupSchema = z
  .object({
    desc: z.number().int().min(1).max(0xffff).optional(),
    socket: z.number().int().min(-1).max(63).optional(),
  })
  .strict();

export type QueueSetupOptions = z.input<typeof queueSetupSchema>;

const linkWaitSchema = z
  .object({
    timeoutMs: z.number().int().min(0).max(600_000).default(9000),
    intervalMs: z.number().int().min(1).max(10_000).default(100),
  })
  .strict();

const nativeRx = native.rxBurst;
const nativeTx = native.txBurst;

/** rxBurst's and txBurst's frame: port, queue, burst id. */
function framePortQueueBurst(port: number, queue: number, burst: Burst): void {
  fastArgs[0] = frameNumber(port, 'port');
  fastArgs[1] = frameNumber(queue, 'queue');
  fastArgs[2] = burstId(burst);
}

/** Appends up to burst room packets received on port/queue; returns how many. */
export function rxBurst(port: number, queue: number, burst: Burst): number {
  framePortQueueBurst(port, queue, burst);
  nativeRx();
  return fastResult[0] as number;
}
/** Sends from the front of the burst; returns how many went (they leave the burst, the rest stay in order). */
export function txBurst(port: number, queue: number, burst: Burst): number {
  framePortQueueBurst(port, queue, burst);
  nativeTx();
  return fastResult[0] as number;
}

/** Every available port: id, device name, MAC and NUMA socket. */
export function ports(): PortSummary[] {
  return native.portList();
}

export function portCount(): number {
  return native.portCount();
}

export function portIds(): number[] {
  return native.portList().map((p) => p.id);
}

const openPorts = new Map<number, Port>();

/** The handle of port `id` (one per id per process); 'ENODEV' if there is no such port. */
export function openPort(id: number): Port {
  const pid = validate(portIdSchema, id, 'openPort', 'port id');
  const existing = openPorts.get(pid);
  if (existing) return existing;
  native.portInfo(pid);
  const port = new Port(pid);
  openPorts.set(pid, port);
  return port;
}

export class Port {
  private closedFlag = false;
  private configured: PortConfigured | undefined;

  /** Use openPort(id). */
  constructor(readonly id: number) {}

  get closed(): boolean {
    return this.closedFlag;
  }

  private live(op: string): number {
    if (this.closedFlag) {
      throw dpdkError('E_CLOSED', op, `port ${this.id} was closed in this process; it cannot be used again`);
    }
    return this.id;
  }

  info(): PortInfo {
    return native.portInfo(this.live('portInfo'));
  }

  get name(): string {
    return this.info().name;
  }

  get mac(): string {
    return this.info().mac;
  }

  get socket(): number {
    return this.info().socket;
  }

  link(): LinkStatus {
    return native.portLink(this.live('link'));
  }

  /**
   * Polls the link until it is up or the timeout passes (the C samples wait
   * 9 s); resolves with the last status either way, without blocking the loop.
   */
  async waitForLink(opts: z.input<typeof linkWaitSchema> = {}): Promise<LinkStatus> {
    const o = validate(linkWaitSchema, opts, 'waitForLink', 'options');
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const status = this.link();
      if (status.up || Date.now() >= deadline) return status;
      await sleep(Math.min(o.intervalMs, Math.max(1, deadline - Date.now())));
    }
  }

  /** Primary only. Returns the descriptor counts the device accepted, and whether RSS is in use. */
  configure(config: PortConfig = {}): PortConfigured {
    const c = validate(portConfigSchema, config, 'configure', 'port config');
    this.configured = native.portConfigure(
      this.live('configure'),
      c.rxQueues,
      c.txQueues,
      c.rxDesc,
      c.txDesc,
      c.rss,
      c.txFastFree,
    );
    return this.configured;
  }

  /** Primary only. Descriptors default to what configure() settled on. */
  setupRxQueue(queue: number, pool: Mempool, opts: QueueSetupOptions = {}): void {
    const q = validate(queueSchema, queue, 'setupRxQueue', 'queue');
    const o = validate(queueSetupSchema, opts, 'setupRxQueue', 'options');
    native.portRxQueueSetup(this.live('setupRxQueue'), q, o.desc ?? this.configured?.rxDesc ?? DEFAULT_DESC, pool, o.socket);
  }

  /** Primary only. Descriptors default to what configure() settled on. */
  setupTxQueue(queue: number, opts: QueueSetupOptions = {}): void {
    const q = validate(queueSchema, queue, 'setupTxQueue', 'queue');
    const o = validate(queueSetupSchema, opts, 'setupTxQueue', 'options');
    native.portTxQueueSetup(this.live('setupTxQueue'), q, o.desc ?? this.configured?.txDesc ?? DEFAULT_DESC, o.socket);
  }

  start(): void {
    native.portStart(this.live('start'));
  }

  stop(): void {
    native.portStop(this.live('stop'));
  }

  /** Primary only: stops and closes the port (net_pcap writes its tx file then). Idempotent. */
  close(): void {
    if (this.closedFlag) return;
    native.portClose(this.id);
    this.closedFlag = true;
    openPorts.delete(this.id);
  }

  promiscuous(): boolean {
    return native.portPromiscuous(this.live('promiscuous'));
  }

  /** Primary only. */
  setPromiscuous(on: boolean): void {
    native.portPromiscuous(this.live('promiscuous'), validate(z.boolean(), on, 'setPromiscuous', 'on'));
  }

  stats(): PortStats {
    return native.portStats(this.live('stats'));
  }

  /** Driver-specific counters, by name. */
  xstats(): Array<{ name: string; value: number }> {
    return native.portXstats(this.live('xstats'));
  }

  resetStats(): void {
    native.portStatsReset(this.live('resetStats'));
  }

  rx(queue: number, burst: Burst): number {
    return rxBurst(this.id, queue, burst);
  }

  tx(queue: number, burst: Burst): number {
    return txBurst(this.id, queue, burst);
  }
}

/**
 * Byte layout of the supervisor's control memzone, shared by the supervisor
 * (the primary) and its slaves. Every field is a naturally aligned 32-bit
 * word or a 64-bit float with a single writer, so no process can leave a
 * field half-written when it is killed: that is why STOP/ACK travels through
 * these words rather than through a ring whose producer could die between
 * reserving and publishing a slot.
 *
 *   header (HEADER_BYTES)
 *     0   u32 magic          MAGIC, written last by the creator
 *     4   u32 version        LAYOUT_VERSION
 *     8   u32 slotCount
 *     12  u32 supervisorPid
 *   slot i at HEADER_BYTES + i * SLOT_BYTES; the supervisor's words and the
 *   slave's words sit on different cache lines so a busy slave polling its
 *   command word does not contend with its own heartbeat stores.
 *     supervisor line
 *       0   u32 generation   bumped for every process started in the slot
 *       4   u32 command      COMMAND.* of the latest request
 *       8   u32 commandSeq   bumped with every request
 *       12  u32 lcore        lcore id the slot's process runs as
 *     slave line
 *       64  u32 heartbeat    bumped by the slave from its main loop
 *       68  u32 ackSeq       commandSeq the slave has acted on
 *       72  u32 state        SLAVE_STATE.*
 *       76  u32 pid
 *       80  u32 attachedGen  generation the slave read when it attached
 *       88  f64 ackAt        Date.now() when the slave stored its latest ackSeq,
 *                            so an ACK's latency is the slave's own and not
 *                            the supervisor's polling delay
 *     counters
 *       128 f64[COUNTER_COUNT]  the slave's own counters (single writer;
 *                               f64 holds integers exactly up to 2^53)
 */

export const MAGIC = 0x53555052; // "SUPR"
export const LAYOUT_VERSION = 3;

export const HEADER = {
  magic: 0,
  version: 4,
  slotCount: 8,
  supervisorPid: 12,
} as const;
export const HEADER_BYTES = 64;

export const SLOT = {
  generation: 0,
  command: 4,
  commandSeq: 8,
  lcore: 12,
  heartbeat: 64,
  ackSeq: 68,
  state: 72,
  pid: 76,
  attachedGen: 80,
  ackAt: 88,
  counters: 128,
} as const;
export const COUNTER_COUNT = 16;
export const SLOT_BYTES = SLOT.counters + COUNTER_COUNT * 8;

export const COMMAND = {
  none: 0,
  /** Flush, ACK, exit. */
  stop: 1,
  /** Flush, ACK, stay attached without touching packets until resume (or stop). */
  pause: 2,
  resume: 3,
  /** To a standby: take the slave's role now (its pool and lcore cache were reclaimed). */
  promote: 4,
} as const;

export const SLAVE_STATE = {
  empty: 0,
  running: 1,
  stopping: 2,
  exited: 3,
  paused: 4,
  /** Attached and idle, waiting for promote; touches no pool or lcore cache. */
  standby: 5,
} as const;

/** The largest number of slots a control zone holds. */
export const MAX_SLOTS = 128;

export function slotOffset(index: number): number {
  return HEADER_BYTES + index * SLOT_BYTES;
}

export function zoneBytes(slotCount: number): number {
  return slotOffset(slotCount);
}

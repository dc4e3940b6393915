/**
 * Which id to try first: a pure function of a snapshot of the slots, so it is
 * tested without EAL. The allocator claims candidates in the order returned
 * and moves to the next one when another process wins the race.
 */

export interface SlotState {
  /** Position of the slot in the zone. */
  index: number;
  /** The lcore id the slot leases. */
  id: number;
  /** NUMA socket of the id, -1 when any. */
  socket: number;
  /** Role the id is reserved for; '' for untagged ids. */
  role: string;
  free: boolean;
  /** claimTick of the slot's latest claim, 0 if never claimed. */
  lastClaim: number;
}

export interface PickRequest {
  /** Preferred NUMA socket; ids on it come first, then socket-less ids, then the rest. */
  socket?: number | undefined;
  /**
   * Role to lease for. Ids tagged with this role come first, then untagged
   * ids. Without a role only untagged ids are leased: tagging an id reserves
   * it for its role.
   */
  role?: string | undefined;
}

/** Whether a slot may serve a request at all (free or not). */
export function eligible(slot: Pick<SlotState, 'role'>, request: PickRequest): boolean {
  const role = request.role ?? '';
  return slot.role === '' || slot.role === role;
}

function roleRank(slot: SlotState, request: PickRequest): number {
  return (request.role ?? '') !== '' && slot.role === request.role ? 0 : 1;
}

function socketRank(slot: SlotState, request: PickRequest): number {
  if (request.socket === undefined || request.socket < 0) return 0;
  if (slot.socket === request.socket) return 0;
  return slot.socket < 0 ? 1 : 2;
}

/**
 * Free, eligible slots, best first: role match, then socket preference, then
 * least recently claimed (reuse spreads over the pool, and an id freed a
 * moment ago is the last choice), then a rotation by `seed` so racing
 * processes with equal preferences start at different ids.
 *
 * `tick` is the current claim counter; ages are computed modulo 2^32 so the
 * order survives the counter wrapping.
 */
export function rankCandidates(slots: readonly SlotState[], request: PickRequest, tick: number, seed: number): number[] {
  const n = slots.length;
  const rotate = n === 0 ? 0 : ((seed % n) + n) % n;
  const ranked: Array<{ index: number; key: number }> = [];
  for (const s of slots) {
    if (!s.free || !eligible(s, request)) continue;
    const age = s.lastClaim === 0 ? 2 ** 32 : (tick - s.lastClaim) >>> 0;
    // One exact integer below 2^53: preference class, then youth, then rotation.
    const key = ((roleRank(s, request) * 3 + socketRank(s, request)) * (2 ** 33) + (2 ** 32 - age)) * 256 + ((s.index - rotate + n) % n);
    ranked.push({ index: s.index, key });
  }
  return ranked.sort((a, b) => a.key - b.key).map((c) => c.index);
}

export interface HolderView {
  id: number;
  role: string;
  ownerPid: number;
  alive: boolean;
}

/**
 * The ENOSPC message: how many ids the request could use, who holds them,
 * and what to do about it.
 */
export function exhaustionMessage(zone: string, request: PickRequest, totalIds: number, holders: readonly HolderView[]): string {
  const usable = holders.filter((h) => eligible(h, request));
  const byPid = new Map<number, { ids: number[]; alive: boolean }>();
  for (const h of usable) {
    const e = byPid.get(h.ownerPid) ?? { ids: [], alive: h.alive };
    e.ids.push(h.id);
    byPid.set(h.ownerPid, e);
  }
  const who = [...byPid.entries()]
    .sort((a, b) => b[1].ids.length - a[1].ids.length || a[0] - b[0])
    .map(([pid, e]) => `pid ${pid}${e.alive ? '' : ' (dead, not yet reclaimed)'} holds ${formatIds(e.ids)}`)
    .join('; ');
  const forRole = (request.role ?? '') === '' ? 'untagged ids' : `ids for role '${request.role}' or untagged`;
  return (
    `no free lcore id in allocator '${zone}': all ${usable.length} ${forRole} ` +
    `(of ${totalIds} ids in the pool) are leased${who === '' ? '' : `: ${who}`}. ` +
    'Release leases that are no longer needed, stop floating processes, or create the allocator with more ids'
  );
}

/** [3,1,2,7] -> "1-3,7": runs of consecutive numbers as ranges (DPDK's list syntax). */
export function rangeList(numbers: readonly number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** [3,1,2,7] -> "ids 1-3,7". */
export function formatIds(ids: readonly number[]): string {
  return `${ids.length === 1 ? 'id' : 'ids'} ${rangeList(ids)}`;
}

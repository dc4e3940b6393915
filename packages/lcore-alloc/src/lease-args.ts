/**
 * Lease -> EAL arguments for a floating process, and the default id set.
 * Pure: no EAL, unit-tested on their own.
 */
import { MAX_LCORE, dpdkError, validate } from '@mp/dpdk-core';
import { z } from 'zod';
import { rangeList } from './lease-policy';

/** CPU_SETSIZE: the largest CPU number a cpu_set_t holds, plus one. */
export const CPU_SET_SIZE = 1024;

export const cpuNumber = z.number().int().min(0).max(CPU_SET_SIZE - 1);
export const lcoreIdSchema = z.number().int().min(0).max(MAX_LCORE - 1, `lcore ids are 0..${MAX_LCORE - 1} (RTE_MAX_LCORE)`);

/** A CPU list as EAL writes one: "0-1", "0,2-3". */
export const cpuListSchema = z
  .string()
  .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'use a CPU list like "0-1" or "0,2-3"')
  .superRefine((s, ctx) => {
    for (const part of s.split(',')) {
      const [lo, hi = lo] = part.split('-').map(Number) as [number, number?];
      if (hi >= CPU_SET_SIZE) ctx.addIssue({ code: 'custom', message: `CPU ${hi} is beyond CPU_SETSIZE (${CPU_SET_SIZE})` });
      if (hi < lo) ctx.addIssue({ code: 'custom', message: `range ${part} goes backwards` });
    }
  });

/** A CPU set: CPU numbers, or a CPU list. */
const cpuSetSchema = z.union([z.array(cpuNumber).nonempty('give at least one CPU'), cpuListSchema]);

export type CpuSet = string | readonly number[];

/** [0,1,2,5] -> "0-2,5"; a valid string is returned as given. */
export function cpuSetString(cpus: CpuSet): string {
  const set = validate(cpuSetSchema, cpus, 'lcoreEalArgs', 'CPU set');
  return typeof set === 'string' ? set : rangeList(set);
}

/**
 * EAL arguments that make a process run as lcore `id`, floating over `cpus`:
 * `['--lcores=<id>@(<cpus>)']`. Add them to the child's EAL argv (with
 * --proc-type=secondary and the group's --file-prefix) and do not give -l/-c.
 */
export function lcoreEalArgs(lease: number | { readonly id: number }, cpus: CpuSet): string[] {
  const id = validate(lcoreIdSchema, typeof lease === 'number' ? lease : lease.id, 'lcoreEalArgs', 'lcore id');
  return [`--lcores=${id}@(${cpuSetString(cpus)})`];
}

/**
 * The ids a default allocator leases: every id below RTE_MAX_LCORE that is
 * neither an EAL lcore of the creating process nor reserved (for example for
 * pinned secondaries started with -l).
 */
export function defaultLeaseIds(ealLcores: readonly number[], reserved: readonly number[] = []): number[] {
  const taken = new Set([...ealLcores, ...reserved]);
  const ids: number[] = [];
  for (let id = 0; id < MAX_LCORE; id++) if (!taken.has(id)) ids.push(id);
  if (ids.length === 0) {
    throw dpdkError('ENOSPC', 'createLcoreAllocator', 'every lcore id is an EAL lcore or reserved: nothing is left to lease');
  }
  return ids;
}

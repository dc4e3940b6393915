/**
 * dpdk-mp clean: removes what dead groups left behind (a primary killed, or
 * a C program that exits without rte_eal_cleanup): their runtime directories
 * and hugepage files, which otherwise keep hugepages from everyone else.
 * cleanPrefix (@mp/dpdk-core) refuses a group that is alive.
 */
import path from 'node:path';
import { cleanPrefix, describePrefix, dpdkError, filePrefixSchema, hasCode, listPrefixes } from '@mp/dpdk-core';
import { EXIT } from '@mp/dpdk-core/cli';
import { z } from 'zod';
import type { Command } from './cli';
import { bytes } from './table';

const schema = z
  .object({
    filePrefix: filePrefixSchema.optional(),
    allDead: z.boolean().default(false),
    json: z.boolean().default(false),
  })
  .strict()
  .refine((o) => (o.filePrefix !== undefined) !== o.allDead, 'give either --file-prefix P or --all-dead');

type Options = z.output<typeof schema>;

interface Outcome {
  prefix: string;
  removed: string[];
  bytes: number;
  /** Why it was kept, when it was. */
  kept?: string;
}

/** Removes one group's files; a live group is kept (with the reason) when `keepLive`, refused otherwise. */
function clean(prefix: string, keepLive: boolean): Outcome {
  const size = describePrefix(prefix).hugepageFiles.reduce((n, f) => n + f.bytes, 0);
  try {
    return { prefix, removed: cleanPrefix(prefix), bytes: size };
  } catch (e) {
    if (!hasCode(e, 'EBUSY')) throw e;
    const why = e.message.replace(/^cleanPrefix: /, '');
    if (!keepLive) throw dpdkError('EBUSY', 'dpdk-mp', `refused: ${why}`);
    return { prefix, removed: [], bytes: 0, kept: why };
  }
}

/** "removed --file-prefix=x: /var/run/dpdk/x and 3 hugepage files in /dev/hugepages (6 MiB)". */
function describe(o: Outcome): string {
  if (o.kept !== undefined) return `kept --file-prefix=${o.prefix}: ${o.kept}`;
  if (o.removed.length === 0) return `nothing of --file-prefix=${o.prefix} on this machine`;
  const files = o.removed.filter((p) => path.basename(p).startsWith(`${o.prefix}map_`));
  const dirs = o.removed.filter((p) => !files.includes(p));
  const where = [...new Set(files.map((f) => path.dirname(f)))].join(', ');
  const parts = [...dirs, ...(files.length > 0 ? [`${files.length} hugepage file${files.length > 1 ? 's' : ''} in ${where} (${bytes(o.bytes)})`] : [])];
  return `removed --file-prefix=${o.prefix}: ${parts.join(' and ')}`;
}

export const command: Command<Options> = {
  options: { 'file-prefix': { type: 'string' }, 'all-dead': { type: 'boolean' }, json: { type: 'boolean' } },
  schema,
  async run(o) {
    const prefix = o.filePrefix;
    const outcomes = prefix !== undefined ? [clean(prefix, false)] : listPrefixes().map((p) => clean(p, true));
    if (o.json) process.stdout.write(`${JSON.stringify({ groups: outcomes }, null, 2)}\n`);
    else if (outcomes.length === 0) process.stdout.write('no DPDK process groups on this machine: nothing to clean\n');
    else for (const x of outcomes) process.stdout.write(`${describe(x)}\n`);
    return EXIT.ok;
  },
};

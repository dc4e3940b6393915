/**
 * The server's ready mark: a file in the group's runtime directory, written
 * once mp-server has set up its ports, pool, registry and rings, and gone
 * with the directory when it stops. A secondary must not start EAL before
 * that: the fast-path ops of each port are set in a secondary when it
 * attaches, from what the primary had set up by then, so one that attached
 * to a server still starting sees stopped queues for good. The mark names
 * the server (pid and start stamp: a killed server's mark counts for
 * nothing) and the generation of its client registry, which a re-attaching
 * client checks once attached (reattach.ts). Read without EAL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ownerAlive, readProcStat, runtimeDir, runtimeDirFor, startStamp } from '@mp/dpdk-core';
import { z } from 'zod';

const READY_FILE = 'mp_server_ready';

const markSchema = z.object({ pid: z.number().int().positive(), stamp: z.number().int().nonnegative(), generation: z.number().int().positive() });

/** The server, once it forwards: publishes its mark (written aside, then renamed, so no reader sees half of it). */
export function markReady(generation: number): void {
  const stat = readProcStat(process.pid);
  const mark = { pid: process.pid, stamp: stat === null ? 0 : startStamp(stat.startTicks), generation };
  const file = path.join(runtimeDir(), READY_FILE);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(mark));
  fs.renameSync(`${file}.tmp`, file);
}

/** The generation of the live, ready server of `prefix`; undefined while there is none. */
export function readyGeneration(prefix: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runtimeDirFor(prefix), READY_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const mark = markSchema.safeParse(parsed);
  return mark.success && ownerAlive(mark.data.pid, mark.data.stamp) ? mark.data.generation : undefined;
}

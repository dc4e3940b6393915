/**
 * Telemetry commands answered from published snapshots (native/telemetry.cc):
 * DPDK asks on its telemetry thread and needs an answer at once, so the
 * application publishes a flat dict of numbers, strings and arrays of them
 * whenever its data changes, and DPDK's stock `dpdk-telemetry.py` (or any
 * client of `<runtime dir>/dpdk_telemetry.v2`) reads the latest. Primary only.
 * queryTelemetry is such a client (native/telemetry_client.cc).
 */
import path from 'node:path';
import { z } from 'zod';
import { filePrefixSchema } from './eal-args';
import { runtimeDirFor } from './machine';
import { validate } from './validate';
import { native } from './native';

export type TelemetryValue = number | bigint | string | number[] | string[];

/** telemetry.c: a command starts with '/' and is shorter than MAX_CMD_LEN (56): at most 55 characters. */
export const telemetryCommandSchema = z
  .string()
  .regex(/^\/[A-Za-z0-9_/]*$/, "a telemetry command starts with '/' and has only letters, digits, '_' or '/'")
  .min(2, "a telemetry command is '/' and a name")
  .max(55, 'a telemetry command has at most 55 characters (DPDK refuses MAX_CMD_LEN, 56, or more)');

/** telemetry.c: help shorter than RTE_TEL_MAX_STRING_LEN (128). */
const helpSchema = z.string().max(127, 'telemetry help has at most 127 characters (RTE_TEL_MAX_STRING_LEN)');

const key = z.string().regex(/^[A-Za-z0-9_/]{1,63}$/, "telemetry keys use letters, digits, '_' or '/'");
const text = z.string().max(127, 'telemetry strings have at most 127 characters (RTE_TEL_MAX_STRING_LEN)');
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const valueSchema = z.union([
  z.number().int().min(-(2 ** 31)).max(Number.MAX_SAFE_INTEGER),
  z.bigint().min(0n).max(2n ** 64n - 1n),
  text,
  z.array(count).max(512, 'at most 512 entries (RTE_TEL_MAX_ARRAY_ENTRIES)'),
  z.array(text).min(1).max(512, 'at most 512 entries (RTE_TEL_MAX_ARRAY_ENTRIES)'),
]);
const snapshotSchema = z
  .record(key, valueSchema)
  .refine((r) => Object.keys(r).length <= 256, 'at most 256 entries (RTE_TEL_MAX_DICT_ENTRIES)');

export interface TelemetryCommand {
  readonly command: string;
  /** Replaces what the command answers with. */
  publish(snapshot: Record<string, TelemetryValue>): void;
}

/** Registers `command`; it answers `{}` until the first publish. */
export function registerTelemetry(command: string, help: string): TelemetryCommand {
  const cmd = validate(telemetryCommandSchema, command, 'registerTelemetry', 'command');
  native.registerTelemetry(cmd, validate(helpSchema, help, 'registerTelemetry', 'help'));
  return {
    command: cmd,
    publish(snapshot) {
      const s = validate(snapshotSchema, snapshot, 'publishTelemetry', 'snapshot');
      native.publishTelemetry(cmd, Object.keys(s), Object.values(s));
    },
  };
}

/** A command as a client sends it: the command, optionally `,<parameters>` (e.g. "/ethdev/stats,0"). */
const requestSchema = z.string().regex(/^\/[A-Za-z0-9_/]{1,55}(,[^\s]{0,127})?$/, 'a telemetry request is /command or /command,parameters');

/**
 * Asks the primary of `filePrefix` one telemetry request over its socket
 * (what dpdk-telemetry.py does) and returns the reply's value for it, e.g.
 * `queryTelemetry('x', '/eal/params')` -> the EAL arguments that primary was
 * started with. Works from any process, with or without EAL. 'ENOENT' or
 * 'ECONNREFUSED' when no primary serves telemetry there (none runs, or it
 * runs with --no-telemetry).
 */
export function queryTelemetry(filePrefix: string, request: string): unknown {
  const socket = path.join(runtimeDirFor(validate(filePrefixSchema, filePrefix, 'queryTelemetry', 'file prefix')), 'dpdk_telemetry.v2');
  const req = validate(requestSchema, request, 'queryTelemetry', 'request');
  const reply = JSON.parse(native.telemetryRequest(socket, req)) as Record<string, unknown>;
  return reply[req.split(',')[0] as string];
}

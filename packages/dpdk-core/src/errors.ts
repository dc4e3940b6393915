/**
 * The one error type of the project, and its codes. Callers branch on `code`
 * (with hasCode(), which goes by the error's name, not by `instanceof`: a
 * caller may hold another copy of this package), never on message text.
 *
 * A code says where it comes from (codeSource):
 * - 'posix': an errno name ('ENOENT', 'EINVAL', ...), with that errno;
 * - 'dpdk': one of DPDK's own rte_errno values ('E_RTE_SECONDARY',
 *   'E_RTE_NO_CONFIG'), with DPDK's number;
 * - 'project': a condition this project defines (PROJECT_CODES), with the
 *   errno of the nearest POSIX condition so that errno is never 0.
 * Errors thrown from C++ take their errno from the same table (native.ts's
 * error factory), so a code has one errno wherever it was raised.
 */
import os from 'node:os';

/** DPDK's rte_errno.h: RTE_MIN_ERRNO is 1000. */
const DPDK_CODES: Readonly<Record<string, number>> = {
  E_RTE_SECONDARY: 1001,
  E_RTE_NO_CONFIG: 1002,
};

const ERRNO = os.constants.errno as Readonly<Record<string, number>>;

/**
 * The project's own codes: what each means, and the errno (Linux numbering)
 * of the nearest POSIX condition, named beside it.
 */
export const PROJECT_CODES = {
  /** A handle used after free(), close() or cleanup(). EBADF. */
  E_CLOSED: 9,
  /** A DPDK call before initEal(). ENOTCONN. */
  E_EAL_NOT_INITIALISED: 107,
  /** A DPDK call after cleanup() or abandon(): EAL cannot start twice in a process. ESHUTDOWN. */
  E_EAL_CLOSED: 108,
  /** A burst on a port that is configured but not started. ENETDOWN. */
  E_PORT_STOPPED: 100,
  /** A shared-memory zone whose header (magic, version, layout hash) is not the one this process declares. EPROTO. */
  E_LAYOUT: 71,
  /** A C struct memzone or a message ring whose layout differs from the one this process declares. EPROTO. */
  ESCHEMA: 71,
  /** The addon was built against another DPDK release than the one installed. ELIBBAD. */
  E_DPDK_VERSION: 80,
  /** A DPDK runtime library the addon needs is missing or broken. ELIBACC. */
  E_DPDK_MISSING: 79,
  /** No addon was built or prebuilt for this platform. ENOENT. */
  E_NO_ADDON: 2,
  /** The addon failed to load for another reason. ELIBBAD. */
  E_ADDON_LOAD: 80,
} as const;

export type CodeSource = 'posix' | 'dpdk' | 'project';

/** Where a code comes from; undefined for a code nobody defines. */
export function codeSource(code: string): CodeSource | undefined {
  if (code in PROJECT_CODES) return 'project';
  if (code in DPDK_CODES) return 'dpdk';
  if (code in ERRNO) return 'posix';
  return undefined;
}

/** The errno a code implies (0 for a code nobody defines). */
export function errnoOf(code: string): number {
  return (PROJECT_CODES as Readonly<Record<string, number>>)[code] ?? DPDK_CODES[code] ?? ERRNO[code] ?? 0;
}

export class DpdkError extends Error {
  override readonly name = 'DpdkError';

  constructor(
    readonly code: string,
    readonly errno: number,
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
  }
}

/** An error raised by TypeScript, with the errno its code implies. */
export function dpdkError(code: string, op: string, message: string): DpdkError {
  return new DpdkError(code, errnoOf(code), op, message);
}

/** Whether `e` is a DpdkError (by name: any copy of the class) with one of `codes` (any code when none is given). */
export function hasCode(e: unknown, ...codes: string[]): e is DpdkError {
  if (!(e instanceof Error) || e.name !== 'DpdkError' || typeof (e as { code?: unknown }).code !== 'string') return false;
  return codes.length === 0 || codes.includes((e as DpdkError).code);
}

/**
 * The one error type of the project. Callers branch on `code` (an errno or
 * rte_errno name such as 'ENOENT', 'EEXIST', 'ENOSPC', 'E_RTE_SECONDARY', or
 * one of ours such as 'EINVAL' for rejected input), never on message text.
 */
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

/** errno values for the codes TypeScript raises itself, in this package and the ones built on it (Linux numbering). */
const ERRNO_OF: Record<string, number> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EAGAIN: 11,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ETIMEDOUT: 110,
  EALREADY: 114,
};

/** An error raised by TypeScript-side validation or state checks. */
export function dpdkError(code: string, op: string, message: string): DpdkError {
  return new DpdkError(code, ERRNO_OF[code] ?? 0, op, message);
}

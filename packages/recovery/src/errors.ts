/** DpdkError with the errno of the code, for errors this package raises itself. */
import { DpdkError } from '@mp/dpdk-core';

const ERRNO_OF: Record<string, number> = {
  ENOENT: 2,
  ESRCH: 3,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  EALREADY: 114,
  ETIMEDOUT: 110,
};

export function recoveryError(code: string, op: string, message: string): DpdkError {
  return new DpdkError(code, ERRNO_OF[code] ?? 0, op, message);
}

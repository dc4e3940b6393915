/**
 * Restart policy: a pure function of a slave's crash history, so it is tested
 * without processes. Backoff grows with the crashes inside the window; past
 * the cap the answer is to give up (a clear error) instead of a crash loop.
 */
import { z } from 'zod';

export const restartPolicySchema = z
  .object({
    /** Delay before the first restart after a crash. */
    initialDelayMs: z.number().int().min(0).max(600_000).default(0),
    /** Each further crash inside the window multiplies the delay by this. */
    factor: z.number().min(1).max(100).default(2),
    maxDelayMs: z.number().int().min(0).max(3_600_000).default(5_000),
    /** Crashes allowed inside windowMs; one more and the slave is given up. */
    maxRestarts: z.number().int().min(0).max(1_000_000).default(10),
    windowMs: z.number().int().min(1).max(86_400_000).default(60_000),
  })
  .strict();

export type RestartPolicyInput = z.input<typeof restartPolicySchema>;
export type RestartPolicy = z.output<typeof restartPolicySchema>;

export type RestartDecision =
  | { action: 'restart'; delayMs: number; recentCrashes: number }
  | { action: 'give-up'; recentCrashes: number; reason: string };

/** Crash times (ms) still inside the window that ends at `now`. */
export function recentCrashes(history: readonly number[], now: number, windowMs: number): number[] {
  return history.filter((t) => now - t < windowMs);
}

/**
 * What to do after a crash at `now`; `history` holds earlier crash times (not
 * this one). The first crash in a window restarts after initialDelayMs, the
 * k-th after initialDelayMs * factor^(k-1), capped at maxDelayMs.
 */
export function decideRestart(policy: RestartPolicy, history: readonly number[], now: number): RestartDecision {
  const recent = recentCrashes(history, now, policy.windowMs).length + 1;
  if (recent > policy.maxRestarts) {
    return {
      action: 'give-up',
      recentCrashes: recent,
      reason:
        `crashed ${recent} times within ${policy.windowMs} ms (cap: ${policy.maxRestarts} restarts per window); ` +
        'not restarting it: fix the cause, then start it again (or raise restart.maxRestarts)',
    };
  }
  const delay = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** (recent - 1));
  return { action: 'restart', delayMs: Math.round(delay), recentCrashes: recent };
}

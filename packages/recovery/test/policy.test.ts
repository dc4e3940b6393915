import { decideRestart, restartPolicySchema } from '../src';

const policy = restartPolicySchema.parse({ initialDelayMs: 100, factor: 2, maxDelayMs: 1000, maxRestarts: 4, windowMs: 10_000 });

test('backoff doubles with each crash inside the window and is capped', () => {
  const delays: number[] = [];
  const history: number[] = [];
  for (let i = 0; i < 4; i++) {
    const now = 1_000 + i * 100;
    const d = decideRestart(policy, history, now);
    if (d.action !== 'restart') throw new Error(`expected a restart, got ${JSON.stringify(d)}`);
    delays.push(d.delayMs);
    history.push(now);
  }
  expect(delays).toEqual([100, 200, 400, 800]);
  const capped = decideRestart({ ...policy, maxRestarts: 10 }, [1, 2, 3, 4, 5], 6);
  expect(capped).toEqual({ action: 'restart', delayMs: 1000, recentCrashes: 6 });
});

test('one crash past the cap inside the window gives up with a message that says what to do', () => {
  const d = decideRestart(policy, [1_000, 2_000, 3_000, 4_000], 5_000);
  expect(d.action).toBe('give-up');
  if (d.action !== 'give-up') return;
  expect(d.recentCrashes).toBe(5);
  expect(d.reason).toMatch(/5 times within 10000 ms/);
  expect(d.reason).toMatch(/maxRestarts/);
});

test('crashes older than the window are forgotten: backoff starts again', () => {
  expect(decideRestart(policy, [1_000, 2_000, 3_000, 4_000], 14_500)).toEqual({ action: 'restart', delayMs: 100, recentCrashes: 1 });
  expect(decideRestart(policy, [1_000, 2_000, 3_000, 9_000], 12_500)).toEqual({ action: 'restart', delayMs: 400, recentCrashes: 3 });
});

test('maxRestarts 0 never restarts; defaults are valid; bad input is rejected by the schema', () => {
  expect(decideRestart({ ...policy, maxRestarts: 0 }, [], 0).action).toBe('give-up');
  expect(restartPolicySchema.parse({})).toEqual({ initialDelayMs: 0, factor: 2, maxDelayMs: 5000, maxRestarts: 10, windowMs: 60000 });
  expect(restartPolicySchema.safeParse({ factor: 0.5 }).success).toBe(false);
  expect(restartPolicySchema.safeParse({ maxRestart: 3 }).success).toBe(false);
});

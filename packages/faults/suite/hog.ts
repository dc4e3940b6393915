/** Pool exhaustion: runs hog-process.ts beside a group, holds every free buffer while `whileHeld` runs, then frees them. */
import path from 'node:path';
import { startFixture } from '@mp/test-kit';

export async function hogPool(eal: readonly string[], pool: string, whileHeld: () => Promise<void>): Promise<{ ok: boolean; summary: string }> {
  const hog = startFixture(path.join(__dirname, 'hog-process.ts'), [...eal, '--', 'hog', pool]);
  try {
    const held = await hog.waitForJson<{ held: number; available: number; size: number }>('HELD', 30_000);
    await whileHeld();
    const released = await hog.request<{ held: number; freed: number }>('release', 'RELEASED', 10_000);
    const status = await hog.waitForExit(10_000);
    const ok = released.freed === released.held && status.code === 0;
    return {
      ok,
      summary: `a secondary took ${held.held} of the pool's ${held.size} buffers at once (${held.available} left in caches), ${released.held} as the caches flushed, and freed ${released.freed}`,
    };
  } catch (e) {
    hog.kill('SIGKILL');
    await hog.exited;
    return { ok: false, summary: `the pool hog failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

/**
 * The command-line convention's stop signals, in child processes: a signal
 * sent as soon as a program says it is ready must reach its shutdown, not
 * Node's default action (which kills the process at once).
 */
import path from 'node:path';
import { startFixture } from '@mp/test-kit';
import { STOP_SIGNALS } from '../src/cli';

const FIXTURE = path.join(__dirname, 'fixtures', 'stop-signals.ts');

test.each(STOP_SIGNALS)('%s sent while the program starts is held, then handed to its stop', async (sig) => {
  // Two seconds of start: the signal lands inside it even on a busy machine.
  const f = startFixture(FIXTURE, ['2000']);
  await f.waitForLine(/^ready$/);
  f.kill(sig);
  expect(await f.waitForExit()).toEqual({ code: 0, signal: null });
  expect(f.stdout).toContain(`stopped in order by ${sig} while starting`);
});

test('a signal after the stop is given reaches it at once', async () => {
  const f = startFixture(FIXTURE, ['0']);
  await f.waitForLine(/^armed$/);
  f.kill('SIGINT');
  expect(await f.waitForExit()).toEqual({ code: 0, signal: null });
  expect(f.stdout).toContain('stopped in order by SIGINT after starting');
});

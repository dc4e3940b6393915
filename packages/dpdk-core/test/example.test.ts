/**
 * The README's worked example runs as documented and does what it says:
 * counts per UDP flow, forwards UDP, drops the rest, leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { leftovers, requireHugepages } from '@mp/test-kit';

beforeAll(() => requireHugepages());

test('examples/udp-flows.ts: 4 flows of 200 packets forwarded, 200 ARP frames dropped', () => {
  const root = path.join(__dirname, '..');
  const run = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(root, 'examples', 'udp-flows.ts')], { cwd: root, encoding: 'utf8' });
  expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, stderr: '' });
  const out = run.stdout;
  expect(out.split('\n').filter((l) => l.includes('packets'))).toEqual([
    '10.0.0.1:5000 -> 10.0.0.99:53  200 packets',
    '10.0.0.2:5001 -> 10.0.0.99:53  200 packets',
    '10.0.0.3:5002 -> 10.0.0.99:53  200 packets',
    '10.0.0.4:5003 -> 10.0.0.99:53  200 packets',
  ]);
  expect(out).toMatch(/^sent 800 of 800 handed to port 0; dropped \(not UDP\) 200$/m);
  // The example's --file-prefix is udp-flows-<its pid>.
  expect(leftovers(`udp-flows-${run.pid}`)).toEqual([]);
});

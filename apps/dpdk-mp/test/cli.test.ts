/**
 * The command line: every option is checked (util.parseArgs, then zod)
 * before anything touches DPDK, and a bad one is exit 2 with the reason and
 * the usage on stderr.
 */
import { assertCleanTeardown } from '@mp/test-kit';
import { dpdkMp } from './helpers';

afterAll(async () => {
  await assertCleanTeardown();
});

it('prints the usage for help and for no command', async () => {
  const help = await dpdkMp(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: dpdk-mp status/);
  expect((await dpdkMp(['clean', '-h'])).stdout).toMatch(/dpdk-mp clean \(--file-prefix P \| --all-dead\)/);
  const none = await dpdkMp([]);
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/^usage: dpdk-mp/);
});

it.each([
  [['frobnicate'], /unknown command 'frobnicate'/],
  [['status', '--verbose'], /Unknown option '--verbose'/],
  [['status', '--file-prefix'], /--file-prefix <value>' argument missing/],
  [['status', '--file-prefix', 'a/b'], /--file-prefix: use 1-64 letters, digits/],
  [['status', '--file-prefix', 'x', '--interval', '10'], /--interval: at least 100 ms/],
  [['status', '--interval', 'soon'], /--interval: give milliseconds, e.g. 1000/],
  [['clean'], /give either --file-prefix P or --all-dead/],
  [['clean', '--file-prefix', 'x', '--all-dead'], /give either --file-prefix P or --all-dead/],
  [['doctor', 'now'], /Unexpected argument 'now'/],
])('refuses %j with exit 2', async (args, message) => {
  const r = await dpdkMp(args);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/usage: dpdk-mp/);
  expect(r.stdout).toBe('');
});

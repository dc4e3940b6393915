/**
 * How the bins end: on a closed terminal (SIGHUP) like on SIGTERM, and a
 * client whose server died without touching the dead server's shared state.
 */
import path from 'node:path';
import { assertCleanTeardown, compileDpdkC, leftovers, removeLeftovers, requireHugepages, startProcess, uniquePrefix, type Fixture } from '@mp/test-kit';
import { EXIT } from '@mp/dpdk-core/cli';
import { clientEal, forwarding, serverEal, tsClient, tsServer } from './helpers';

beforeAll(() => requireHugepages());

afterAll(async () => {
  await assertCleanTeardown();
});

function startServer(prefix: string): Fixture {
  return tsServer('server', [...serverEal(prefix, ['net_null0', 'net_null1']), '--', '-p', '3', '-n', '1', '--stats-interval', '0']);
}

it('a client whose server died exits with its code without touching shared memory, even with EAL locks held by the dead (M12)', async () => {
  const prefix = uniquePrefix('cs-gone');
  const server = startServer(prefix);
  await server.waitForLine(/Finished Process Init/);
  const client = tsClient('client0', [...clientEal(prefix, 2), '--', '-n', '0', '--stats-interval', '0.1']);
  await forwarding(client);
  const holder = startProcess('lock-holder', compileDpdkC(path.join(__dirname, 'fixtures', 'lock-holder.c')), clientEal(prefix, 5));
  await holder.waitForLine(/^locked$/);
  expect((await holder.waitForExit()).signal).toBe('SIGKILL');
  server.kill('SIGKILL');
  await server.waitForExit();
  expect(await client.waitForExit(10_000)).toEqual({ code: EXIT.peerGone, signal: null });
  removeLeftovers(prefix);
});

it('a server whose output has gone (its reader closed: EPIPE on every write) forwards on, and a stop still ends it in order, leaving nothing behind', async () => {
  const prefix = uniquePrefix('cs-pipe');
  const server = tsServer('server', [...serverEal(prefix, ['net_null0', 'net_null1']), '--', '-p', '3', '-n', '1', '--stats-interval', '0.1']);
  await server.waitForLine(/Finished Process Init/);
  server.child.stdout?.destroy();
  // Stats lines every 100 ms now fail; the server must outlive them.
  await new Promise((r) => setTimeout(r, 1000));
  expect(server.exitStatus).toBeUndefined();
  server.kill('SIGHUP');
  expect(await server.waitForExit(20_000)).toEqual({ code: 0, signal: null });
  expect(leftovers(prefix)).toEqual([]);
});

it('SIGHUP (the terminal closed) stops the server and its client as SIGTERM does, leaving nothing behind (L18)', async () => {
  const prefix = uniquePrefix('cs-hup');
  const server = startServer(prefix);
  await server.waitForLine(/Finished Process Init/);
  const client = tsClient('client0', [...clientEal(prefix, 2), '--', '-n', '0', '--stats-interval', '0.1']);
  await forwarding(client);
  client.kill('SIGHUP');
  expect(await client.waitForExit()).toEqual({ code: 0, signal: null });
  expect(client.stdout).toMatch(/client 0 stopping: SIGHUP received/);
  server.kill('SIGHUP');
  expect(await server.waitForExit(20_000)).toEqual({ code: 0, signal: null });
  expect(server.stdout).toMatch(/stopping: SIGHUP received/);
  expect(leftovers(prefix)).toEqual([]);
});

/**
 * The registry of TS clients in the control memzone: which lcore ids and
 * client ids are taken, and what a client killed at any step of joining or
 * leaving it leaves behind.
 */
import path from 'node:path';
import { assertCleanTeardown, requireHugepages, startFixture, uniquePrefix, type Fixture } from '@mp/test-kit';
import { EXIT } from '@mp/dpdk-core/cli';
import { clientEal, forwarding, serverEal, tsClient, tsServer } from './helpers';

beforeAll(() => requireHugepages());

afterAll(async () => {
  await assertCleanTeardown();
});

function startServer(prefix: string): Fixture {
  return tsServer('server', [...serverEal(prefix, ['net_null0', 'net_null1']), '--', '-p', '3', '-n', '2', '--stats-interval', '0']);
}

function startClient(prefix: string, id: number, lcore: number): Fixture {
  return tsClient(`client${id}`, [...clientEal(prefix, lcore), '--', '-n', String(id), '--stats-interval', '0.1']);
}

async function stopServer(server: Fixture, clients: Fixture[]): Promise<void> {
  server.kill('SIGINT');
  const codes = await Promise.all([server, ...clients].map((p) => p.waitForExit(20_000)));
  expect(codes.map((c) => c.code)).toEqual([server, ...clients].map(() => 0));
}

it("refuses a client on the server's lcore id, naming the fix (H2)", async () => {
  const prefix = uniquePrefix('cs-srvlcore');
  const server = startServer(prefix);
  await server.waitForLine(/Finished Process Init/);
  // The server runs as lcore 0 (serverEal's -l 0), the default of any DPDK process.
  const clash = startClient(prefix, 0, 0);
  expect((await clash.waitForExit()).code).toBe(EXIT.environment);
  expect(clash.stderrLines.join('\n')).toMatch(/lcore 0 is the server's lcore.*give this client its own lcore id/);
  const ok = startClient(prefix, 0, 2);
  await forwarding(ok);
  await stopServer(server, [ok]);
});

it('a client killed between taking its slot and saying it runs does not make the id unusable (M4)', async () => {
  const prefix = uniquePrefix('cs-halfclaim');
  const server = startServer(prefix);
  await server.waitForLine(/Finished Process Init/);
  const half = startFixture(path.join(__dirname, 'fixtures', 'half-claim.ts'), [...clientEal(prefix, 5), '--', '1']);
  await half.waitForLine(/^claimed$/);
  expect((await half.waitForExit()).signal).toBe('SIGKILL');
  const client = startClient(prefix, 1, 3);
  await forwarding(client);
  expect(server.stdoutLines).toContainEqual(expect.stringMatching(/^client 1 \(pid \d+\) died while joining or leaving; its slot is free again$/));
  await stopServer(server, [client]);
});

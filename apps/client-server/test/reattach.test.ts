/**
 * mp-client --reattach: the process keeps its pid while its server is
 * SIGKILLed and restarted with the same --file-prefix, joins the new group
 * (another generation) and forwards again; a client that finds the group it
 * left refuses it; a launcher waiting for a server stops on SIGINT. Bounds
 * are generous: these hold with CPU hogs beside the suite.
 */
import { assertCleanTeardown, leftovers, requireHugepages, uniquePrefix, startProcess, type Fixture } from '@mp/test-kit';
import { EXIT } from '@mp/dpdk-core/cli';
import { REATTACH_ENV } from '../src/reattach';
import { BIN, clientEal, forwarding, serverEal, statsUntil, tsClient, tsServer } from './helpers';

beforeAll(() => requireHugepages());

afterAll(async () => {
  await assertCleanTeardown();
});

function startServer(prefix: string): Fixture {
  return tsServer('server', [...serverEal(prefix, ['net_null0', 'net_null1']), '--', '-p', '3', '-n', '2', '--stats-interval', '0.2', '--stats-format', 'json']);
}

async function generation(client: Fixture, from = 0): Promise<number> {
  return Number((await client.waitForLine(/^mp-client \d+: joined the group of generation (\d+)$/, 60_000, { from }))[1]);
}

it('survives a SIGKILL of its server and a restart: same pid, a new generation, forwarding again', async () => {
  const prefix = uniquePrefix('cs-reattach');
  let server = startServer(prefix);
  await server.waitForLine(/Finished Process Init/, 60_000);
  const client = tsClient('client0', [...clientEal(prefix, 2), '--', '-n', '0', '--stats-interval', '0.1', '--reattach']);
  const first = await generation(client);
  await forwarding(client, 60_000);

  for (let restart = 0; restart < 2; restart++) {
    const from = client.stdoutLines.length;
    const fromErr = client.stderrLines.length;
    server.kill('SIGKILL');
    await server.waitForExit();
    await client.waitForLine(/the server \(primary process\) has exited; re-attaching once a new one runs/, 20_000, { stream: 'stderr', from: fromErr });
    await client.waitForLine(/waiting for a server with --file-prefix=/, 20_000, { from });
    expect(client.exitStatus).toBeUndefined();

    server = startServer(prefix);
    const next = await generation(client, from);
    expect(next).not.toBe(first);
    await forwarding(client, 60_000);
    // The new server counts what this client transmits in the new group's port_info.
    await statsUntil(server, (s) => (s.clients[0]?.tx ?? 0) > 0, 60_000);
  }

  server.kill('SIGINT');
  const [s, c] = await Promise.all([server.waitForExit(60_000), client.waitForExit(60_000)]);
  expect([s.code, c.code]).toEqual([0, 0]);
  // The restarted server took over what the killed ones left, and its clean stop removed it all.
  expect(leftovers(prefix)).toEqual([]);
});

it('a client that finds the generation it left leaves with the re-attach code, touching nothing', async () => {
  const prefix = uniquePrefix('cs-stale');
  const server = startServer(prefix);
  await server.waitForLine(/Finished Process Init/, 60_000);
  const client = tsClient('client0', [...clientEal(prefix, 2), '--', '-n', '0', '--reattach']);
  const current = await generation(client);

  const stale = startProcess('stale client', process.execPath, [BIN.client, ...clientEal(prefix, 3), '--', '-n', '1'], { env: { [REATTACH_ENV]: String(current) } });
  expect((await stale.waitForExit(60_000)).code).toBe(EXIT.peerGone);
  expect(stale.stderr).toMatch(new RegExp(`found the registry of the group it left \\(generation ${current}\\); re-attaching`));
  // Not joined: slot 1 is still free for a client of this group.
  const fresh = startProcess('fresh client', process.execPath, [BIN.client, ...clientEal(prefix, 3), '--', '-n', '1', '--stats-interval', '0.1'], { env: { [REATTACH_ENV]: '0' } });
  await forwarding(fresh, 60_000);

  server.kill('SIGINT');
  expect((await Promise.all([server, client, fresh].map((p) => p.waitForExit(60_000)))).map((x) => x.code)).toEqual([0, 0, 0]);
});

it('waits for a server that is not there yet, and stops on SIGINT while it waits', async () => {
  const prefix = uniquePrefix('cs-wait');
  const client = tsClient('client0', [...clientEal(prefix, 2), '--', '-n', '0', '--reattach']);
  await client.waitForLine(new RegExp(`^mp-client 0: waiting for a server with --file-prefix=${prefix}$`), 30_000);
  client.kill('SIGINT');
  expect(await client.waitForExit(30_000)).toEqual({ code: 0, signal: null });
});

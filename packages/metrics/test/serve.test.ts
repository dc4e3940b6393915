import http from 'node:http';
import net from 'node:net';
import { DpdkError } from '@mp/dpdk-core';
import { freeTcpPort as freePort, parseExposition } from '@mp/test-kit';
import { metricsHostSchema, metricsPortSchema, readCounter, readGauge, serveMetrics } from '../src';

test('serves its registry at /metrics in Prometheus text format, reading the values at each scrape', async () => {
  const port = await freePort();
  const endpoint = await serveMetrics({ host: '127.0.0.1', port });
  try {
    let sent = 10;
    readCounter(endpoint.registry, { name: 'x_sent_packets_total', help: 'sent', labelNames: ['port'], read: () => [[{ port: 1 }, sent]] });
    readGauge(endpoint.registry, { name: 'x_queued', help: 'queued', labelNames: ['ring'], read: () => [[{ ring: 'r0' }, 3]] });
    expect(endpoint.url).toBe(`http://127.0.0.1:${port}/metrics`);
    const first = await fetch(endpoint.url);
    expect(first.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await first.text();
    expect(parseExposition(text).value('x_sent_packets_total', { port: 1 })).toBe(10);
    expect(text).toContain('# TYPE x_sent_packets_total counter\nx_sent_packets_total{port="1"} 10\n');
    expect(text).toContain('# TYPE x_queued gauge\nx_queued{ring="r0"} 3\n');
    sent = 25;
    expect(await (await fetch(endpoint.url)).text()).toContain('x_sent_packets_total{port="1"} 25\n');
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
  } finally {
    await endpoint.close();
  }
  await expect(fetch(endpoint.url)).rejects.toThrow();
});

test('an error after it listens is told on stderr, never thrown: the primary serving it lives on', async () => {
  const port = await freePort();
  const created = jest.spyOn(http, 'createServer');
  const endpoint = await serveMetrics({ host: '127.0.0.1', port });
  const server = created.mock.results[0]?.value as http.Server;
  created.mockRestore();
  const told = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    for (let i = 0; i < 2; i++) expect(() => server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }))).not.toThrow();
    expect(told).toHaveBeenCalledWith(expect.stringMatching(/^metrics: accept EMFILE; scrapes of 127\.0\.0\.1:\d+ may fail until it passes/));
    expect((await fetch(endpoint.url)).status).toBe(200);
  } finally {
    told.mockRestore();
    await endpoint.close();
  }
});

test('a port in use is a DpdkError naming the fix', async () => {
  const port = await freePort();
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
  try {
    const e = await serveMetrics({ host: '127.0.0.1', port }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DpdkError);
    expect(e).toMatchObject({ code: 'EADDRINUSE' });
    expect((e as Error).message).toBe(
      `metrics: cannot listen on 127.0.0.1:${port}: port ${port} on 127.0.0.1 is in use by another process (ss -ltnp 'sport = :${port}' shows which); choose a free one with --metrics-port`,
    );
  } finally {
    await new Promise((resolve) => holder.close(resolve));
  }
});

test('an address of another machine is refused naming --metrics-host', async () => {
  const e = await serveMetrics({ host: '192.0.2.1', port: await freePort() }).catch((err: unknown) => err);
  expect(e).toMatchObject({ code: 'EADDRNOTAVAIL' });
  expect((e as Error).message).toMatch(/192\.0\.2\.1 is not an address of this machine; give one of its own with --metrics-host/);
});

test('option values', () => {
  expect(metricsPortSchema.parse('9464')).toBe(9464);
  for (const bad of ['0', '65536', 'abc', '-1', '94.5', '']) expect(metricsPortSchema.safeParse(bad).success).toBe(false);
  expect(metricsPortSchema.safeParse('0').error?.issues[0]?.message).toMatch(/1-65535/);
  for (const ok of ['127.0.0.1', '0.0.0.0', '::1', 'localhost']) expect(metricsHostSchema.parse(ok)).toBe(ok);
  expect(metricsHostSchema.safeParse('no such/host').error?.issues[0]?.message).toMatch(/address or host name of this machine/);
});

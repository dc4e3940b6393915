/**
 * The Prometheus endpoint of a primary: a registry of its own, served over
 * HTTP at /metrics on `--metrics-host`:`--metrics-port`. Collectors read the
 * counters when a scrape asks, so nothing runs between scrapes.
 */
import http from 'node:http';
import { DpdkError } from '@mp/dpdk-core';
import { Registry } from 'prom-client';
import { z } from 'zod';

export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** `--metrics-port` as given on a command line. */
export const metricsPortSchema = z
  .string()
  .regex(/^\d+$/, 'the metrics port is a TCP port number, e.g. --metrics-port 9464')
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .min(1, 'the metrics port is 1-65535 (0 would pick a random port nobody could scrape); e.g. --metrics-port 9464')
      .max(65535, 'the metrics port is 1-65535; e.g. --metrics-port 9464'),
  );

/** `--metrics-host`: where to listen; the loopback unless the scraper is on another machine. */
export const metricsHostSchema = z.union([z.ipv4(), z.ipv6(), z.hostname()], {
  error: `the metrics host is an address or host name of this machine (default ${DEFAULT_METRICS_HOST}); e.g. --metrics-host 0.0.0.0 listens on every interface`,
});

export interface MetricsEndpoint {
  readonly registry: Registry;
  /** What to scrape, e.g. http://127.0.0.1:9464/metrics. */
  readonly url: string;
  /** Stops listening and drops open connections: no scrape reads a port or pool once the app frees it. */
  close(): Promise<void>;
}

function listenError(e: NodeJS.ErrnoException, host: string, port: number): DpdkError {
  const code = e.code ?? 'EIO';
  const fix: Record<string, string> = {
    EADDRINUSE: `port ${port} on ${host} is in use by another process (ss -ltnp 'sport = :${port}' shows which); choose a free one with --metrics-port`,
    EADDRNOTAVAIL: `${host} is not an address of this machine; give one of its own with --metrics-host (default ${DEFAULT_METRICS_HOST})`,
    ENOTFOUND: `the host name ${host} does not resolve; give an address with --metrics-host (default ${DEFAULT_METRICS_HOST})`,
    EACCES: `listening on port ${port} needs privileges this process lacks; choose a port above 1023 with --metrics-port`,
  };
  return new DpdkError(code, Math.abs(e.errno ?? 0), 'metrics', `cannot listen on ${host}:${port}: ${fix[code] ?? e.message}`);
}

/** Listens on host:port and serves a new registry at /metrics in Prometheus' text format. */
export async function serveMetrics(opts: { host: string; port: number }): Promise<MetricsEndpoint> {
  const registry = new Registry();
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${(e as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, opts.host, opts.port)));
    server.listen(opts.port, opts.host, resolve);
  });
  const where = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    registry,
    url: `http://${where}:${opts.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

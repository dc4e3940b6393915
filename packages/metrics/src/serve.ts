/**
 * The Prometheus endpoint of a primary: a registry of its own, served over
 * HTTP at /metrics on `--metrics-host`:`--metrics-port`. Collectors read the
 * counters when a scrape asks, so nothing runs between scrapes.
 */
import http from 'node:http';
import { DpdkError } from '@mp/dpdk-core';
import { Registry } from 'prom-client';
import { DEFAULT_METRICS_HOST } from './options';

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
    const failed = (e: NodeJS.ErrnoException): void => reject(listenError(e, opts.host, opts.port));
    server.once('error', failed);
    server.listen(opts.port, opts.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  // Once it listens, an error (accept failing with EMFILE, say) costs scrapes, never the primary serving them.
  server.on('error', (e) => process.stderr.write(`metrics: ${e.message}; scrapes of ${opts.host}:${opts.port} may fail until it passes\n`));
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

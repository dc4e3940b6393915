/**
 * The command-line options of the endpoint, apart from it: zod only, so a
 * program that parses its command line with them (mp-client shares its
 * parser module with mp-server) does not load prom-client and node:http.
 */
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

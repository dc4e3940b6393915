/**
 * Scraping a Prometheus endpoint in a test: a free TCP port to serve it on,
 * and the exposition checked line by line against the text format (HELP,
 * TYPE, samples, blank lines; nothing else) before its values are read.
 */
import net from 'node:net';

/** A TCP port nobody listens on now: the kernel's pick on the loopback, released again. */
export async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE = new RegExp(`^(${NAME})(\\{(?:${LABEL}(?:,${LABEL})*)?\\})? (-?[0-9.e+]+|NaN|[+-]Inf)(?: -?\\d+)?$`);
const COMMENT = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`);
const TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

export interface Exposition {
  readonly text: string;
  /** Family name -> its TYPE. */
  readonly types: ReadonlyMap<string, string>;
  /** The value of the sample `name{labels}` (labels in any order); undefined when there is none. */
  value(name: string, labels?: Record<string, string | number>): number | undefined;
}

/**
 * Parses Prometheus' text format, throwing on the first line that is not in
 * it, a sample whose family has no TYPE, a counter not named `..._total` and,
 * given `namespaces`, a family named outside them (`dpdk_...`, `mp_...`).
 */
export function parseExposition(text: string, namespaces?: readonly string[]): Exposition {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  const key = (name: string, labels: Record<string, string>): string =>
    `${name}{${Object.keys(labels)
      .sort()
      .map((k) => `${k}=${JSON.stringify(labels[k])}`)
      .join(',')}}`;
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const comment = COMMENT.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') {
        const [name, type] = [comment[2] as string, comment[3] as string];
        if (!TYPES.includes(type)) throw new Error(`line ${i + 1}: unknown type: ${line}`);
        if (type === 'counter' && !name.endsWith('_total')) throw new Error(`line ${i + 1}: counter ${name} is not named ..._total`);
        if (namespaces && !namespaces.some((ns) => name.startsWith(`${ns}_`))) throw new Error(`line ${i + 1}: ${name} is outside ${namespaces.join(', ')}`);
        types.set(name, type);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1} is not in Prometheus' text format: ${JSON.stringify(line)}`);
    const name = m[1] as string;
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => types.has(n));
    if (family === undefined) throw new Error(`line ${i + 1}: sample of ${name} before any TYPE of its family`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    samples.set(key(name, labels), Number(m[3]));
  }
  return {
    text,
    types,
    value: (name, labels = {}) => samples.get(key(name, Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])))),
  };
}

/** GETs `url` and parses what it serves, which must be Prometheus' text format 0.0.4 (see parseExposition). */
export async function scrape(url: string, namespaces?: readonly string[]): Promise<Exposition> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!/^text\/plain; version=0\.0\.4/.test(type)) throw new Error(`${url} served ${type}, not Prometheus' text format`);
  return parseExposition(await res.text(), namespaces);
}

/** Reads a Prometheus text exposition into samples that can be looked up by name and labels in any order. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class Scrape {
  constructor(
    readonly samples: Sample[],
    readonly text: string,
  ) {}

  /** The value of the series with exactly these labels; 0 when it is absent. */
  value(name: string, labels: Record<string, string> = {}): number {
    const want = Object.entries(labels);
    const found = this.samples.find((s) => s.name === name && Object.keys(s.labels).length === want.length && want.every(([k, v]) => s.labels[k] === v));
    return found?.value ?? 0;
  }

  /** Whether the exposition declares a metric family of this name and type. */
  declares(name: string, type: 'counter' | 'gauge' | 'histogram'): boolean {
    return this.text.split('\n').includes(`# TYPE ${name} ${type}`);
  }
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Scrape {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = sampleLine.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (m[2] ?? '').matchAll(labelPair)) labels[key!] = value!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return new Scrape(samples, text);
}

/** GETs /metrics of a node and parses it. */
export async function scrape(baseUrl: string): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseExposition(await res.text());
}

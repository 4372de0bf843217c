// A parser for the Prometheus text exposition format (version 0.0.4): enough for the gateway's
// /metrics — counters, gauges and histograms with labels; HELP/TYPE lines and timestamps are read
// and dropped.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new Error(`not a number: ${text}`);
  return v;
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (the '{'); returns the labels and the index after '}'. */
function parseLabels(line: string, i: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  i++;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return [labels, i + 1];
    const eq = line.indexOf('=', i);
    if (eq < 0 || line[eq + 1] !== '"') throw new Error('malformed label');
    const name = line.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] === '\\') {
        j++;
        value += line[j] === 'n' ? '\n' : line[j];
      } else value += line[j];
    }
    if (j >= line.length) throw new Error('unterminated label value');
    labels[name] = value;
    i = j + 1;
  }
}

/** Every sample in the text; malformed lines are skipped (a dashboard should not die of one). */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      const nameEnd = line.search(/[{\s]/);
      if (nameEnd < 0) continue;
      const name = line.slice(0, nameEnd);
      let labels: Record<string, string> = {};
      let rest = nameEnd;
      if (line[nameEnd] === '{') [labels, rest] = parseLabels(line, nameEnd);
      const [value] = line.slice(rest).trim().split(/\s+/);
      samples.push({ name, labels, value: parseValue(value) });
    } catch {
      continue;
    }
  }
  return samples;
}

/** Samples of one metric whose labels include every given label. */
export function select(samples: Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

export function sum(samples: Sample[]): number {
  return samples.reduce((s, x) => s + (Number.isFinite(x.value) ? x.value : 0), 0);
}

export interface Bucket {
  le: number;
  count: number;
}

/** Cumulative buckets of a histogram (optionally restricted by labels), summed over other labels. */
export function histogramBuckets(samples: Sample[], name: string, match: Record<string, string> = {}): Bucket[] {
  const byLe = new Map<number, number>();
  for (const s of select(samples, `${name}_bucket`, match)) {
    const le = parseValue(s.labels.le ?? '+Inf');
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * The q-quantile of cumulative buckets, interpolating linearly inside the bucket as Prometheus's
 * histogram_quantile does; undefined when there are no observations. A quantile in the +Inf
 * bucket is reported as the largest finite bound.
 */
export function bucketQuantile(q: number, buckets: Bucket[]): number | undefined {
  if (buckets.length === 0) return undefined;
  const total = buckets[buckets.length - 1].count;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket > 0 ? prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket : b.le;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

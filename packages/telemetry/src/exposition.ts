// Parsing scraped Prometheus text (server side) into flat samples.
//
// parse-prometheus-text-format tokenizes lines but is lenient and lossy:
//  - "hello world" parses as a sample with value "world" (values stay strings);
//  - a histogram/summary family with labels besides `le` is flattened into one
//    bucket map, dropping the other labels and any labelled _sum/_count;
//  - consecutive samples with equal labels silently overwrite each other;
//  - a sample on the final line without a trailing newline is dropped.
// So histogram/summary TYPE lines are handed to it as untyped (every
// _bucket{le}/_sum/_count line then stays its own sample, labels intact), the
// text always ends in a newline, and every sample is validated here against
// its source line.

import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class MetricsParseError extends Error {
  override readonly name = 'MetricsParseError';
  /** 1-based line number in the scraped text, when known. */
  readonly lineNumber: number | null;
  readonly line: string | null;

  constructor(reason: string, lineNumber: number | null = null, line: string | null = null, options?: ErrorOptions) {
    super(lineNumber !== null ? `line ${lineNumber}: ${reason}: ${JSON.stringify(line)}` : reason, options);
    this.lineNumber = lineNumber;
    this.line = line;
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TIMESTAMP = /^-?\d+$/;
const METRIC_TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const TYPE_LINE = /^#\s+TYPE\s+(\S+)\s+(\S+)\s*$/;
/** Name, optional label block (quoted values may hold `}` or escaped quotes), then the rest. */
const SAMPLE_LINE = /^([^\s{]+)\s*(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s*(.*)$/;

export function parseSampleValue(text: string): number | null {
  if (/^\+?Inf$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-Inf$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^NaN$/i.test(text)) return Number.NaN;
  return FLOAT.test(text) ? Number(text) : null;
}

export function parseMetrics(text: string): ParsedSample[] {
  const lines = text.split('\n');
  const sampleLines: SourceLine[] = [];
  const rewritten: string[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const lineNumber = i + 1;
    if (line.startsWith('#')) {
      const type = TYPE_LINE.exec(line);
      if (type !== null) {
        const kind = (type[2] ?? '').toLowerCase();
        if (!METRIC_TYPES.has(kind)) throw new MetricsParseError(`unknown metric type "${type[2]}"`, lineNumber, raw);
        if (!METRIC_NAME.test(type[1] ?? '')) throw new MetricsParseError('invalid metric name', lineNumber, raw);
        if (kind === 'histogram' || kind === 'summary') {
          rewritten.push(`# TYPE ${type[1]} untyped`);
          return;
        }
      }
    } else if (line.length > 0) {
      sampleLines.push({ lineNumber, line: raw });
    }
    rewritten.push(raw);
  });

  let families: ReturnType<typeof parsePrometheusTextFormat>;
  try {
    families = parsePrometheusTextFormat(rewritten.join('\n') + '\n');
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const bad = message.replace(/^Encountered invalid line: /, '');
    const at = lines.findIndex((l) => l.trim() === bad);
    throw new MetricsParseError(
      'invalid line',
      at === -1 ? null : at + 1,
      at === -1 ? bad : (lines[at] ?? bad),
      { cause },
    );
  }

  const raw: RawSample[] = [];
  for (const family of families) {
    for (const metric of family.metrics) {
      raw.push({ name: family.name, labels: metric.labels ?? {}, value: metric.value });
    }
  }
  return validate(raw, sampleLines);
}

interface RawSample {
  name: string;
  labels: Record<string, string>;
  /** As the parser left it: a string, or missing when the line had none. */
  value: string | undefined;
}

interface SourceLine {
  lineNumber: number;
  line: string;
}

function validate(raw: RawSample[], sampleLines: SourceLine[]): ParsedSample[] {
  if (raw.length !== sampleLines.length) {
    // The parser merges consecutive lines of one family with equal labels: a duplicate series.
    const duplicate = findDuplicate(sampleLines) ?? sampleLines[raw.length];
    throw new MetricsParseError('duplicate series', duplicate?.lineNumber ?? null, duplicate?.line ?? null);
  }
  // Families come out in input order with samples in line order, so index i pairs with line i.
  return raw.map((sample, i) => {
    const source = sampleLines[i];
    const fail = (reason: string): never => {
      throw new MetricsParseError(reason, source?.lineNumber ?? null, source?.line ?? null);
    };
    if (!METRIC_NAME.test(sample.name)) fail('invalid metric name');
    for (const name of Object.keys(sample.labels)) if (!LABEL_NAME.test(name)) fail(`invalid label name "${name}"`);
    const tokens = tailTokens(source?.line ?? '');
    if (tokens === null || tokens.length < 1 || tokens.length > 2) fail('expected "<name>{labels} <value> [timestamp]"');
    const timestamp = tokens?.[1];
    if (timestamp !== undefined && !TIMESTAMP.test(timestamp)) fail('invalid timestamp');
    const value = parseSampleValue(sample.value ?? '');
    if (value === null) return fail('invalid sample value');
    if (sample.name.endsWith('_bucket') && !('le' in sample.labels)) fail('histogram bucket without "le" label');
    return { name: sample.name, labels: sample.labels, value };
  });
}

function tailTokens(line: string): string[] | null {
  const match = SAMPLE_LINE.exec(line.trim());
  if (match === null) return null;
  const tail = (match[3] ?? '').trim();
  return tail === '' ? [] : tail.split(/\s+/);
}

function findDuplicate(sampleLines: SourceLine[]): SourceLine | undefined {
  const seen = new Set<string>();
  for (const s of sampleLines) {
    const match = SAMPLE_LINE.exec(s.line.trim());
    const key = `${match?.[1] ?? ''}${match?.[2] ?? ''}`;
    if (seen.has(key)) return s;
    seen.add(key);
  }
  return undefined;
}

// Number formatting shared by panels and charts: units always shown, precision by magnitude.

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${(ms * 1000).toFixed(0)} µs`;
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** Throughput has one unit in the console: records per second. */
export function formatRate(perSec: number | null | undefined, unit = ' records/s'): string {
  const c = formatCount(perSec);
  return c === '—' ? c : `${c}${unit}`;
}

/** "99.9%" from 0.999: the nines style of HdrHistogram plots. */
export function formatPercentile(q: number): string {
  const pct = q * 100;
  const digits = Math.max(0, Math.min(6, Math.ceil(-Math.log10(1 - q + 1e-12)) - 2));
  return `${pct.toFixed(digits)}%`;
}

/** HdrHistogram's x axis: 1/(1-q) on a log scale, i.e. the count of nines. */
export function ninesOf(q: number): number {
  return Math.log10(1 / Math.max(1e-9, 1 - q));
}

export function labelOfNines(n: number): string {
  if (n <= 0) return '0%';
  return formatPercentile(1 - 10 ** -n);
}

export function formatTime(ms: number): string {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false });
}

export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}`;
}

/** Value for an <input type="datetime-local"> in local time. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

export function fromLocalInput(text: string): number | null {
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** Scrapes run every second; five missed in a row means scraping has stopped. */
export const STALE_AFTER_MS = 5_000;

/** What the stale-data banner says, or null when the data is current. */
export function staleMessage(lastScrapeMs: number | null, nowMs: number, failing: boolean): string | null {
  if (failing) return 'the console cannot reach the server; figures below are the last received.';
  if (lastScrapeMs === null) return null;
  const ageMs = nowMs - lastScrapeMs;
  if (ageMs < STALE_AFTER_MS) return null;
  return `the last successful scrape was ${Math.round(ageMs / 1000)} s ago — scraping has stopped; figures below are not current.`;
}

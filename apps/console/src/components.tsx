import { Suspense, useEffect, useState, type ReactNode } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
import { friendlyError, getOperatorToken, setOperatorToken, useWhoAmI } from './api.ts';
import { RANGE_WINDOWS, type FixedRange, type RangeSpec } from './url-state.ts';
import { formatDateTime, fromLocalInput, staleMessage, toLocalInput } from './format.ts';

/** Every panel shows loading, error and empty states the same way. */
export function Panel<T>({
  title,
  query,
  isEmpty,
  emptyText = 'No data in this range yet.',
  children,
  testId,
  actions,
}: {
  title: string;
  query: UseQueryResult<T>;
  isEmpty?: (data: T) => boolean;
  emptyText?: string;
  children: (data: T) => ReactNode;
  testId?: string;
  actions?: ReactNode;
}) {
  let body: ReactNode;
  if (query.data !== undefined) {
    body = isEmpty?.(query.data) ? <p className="state empty">{emptyText}</p> : children(query.data);
  } else if (query.isError) {
    body = null;
  } else {
    body = (
      <p className="state loading" role="status">
        Loading…
      </p>
    );
  }
  return (
    <section className="panel" aria-label={title} data-testid={testId}>
      <header className="panel-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {query.isError && (
        <p className="state error" role="alert">
          Could not load: {friendlyError(query.error)}
          {query.data !== undefined ? ' (showing the last data received)' : ''}
        </p>
      )}
      <Suspense fallback={<p className="state loading" role="status">Loading chart…</p>}>{body}</Suspense>
    </section>
  );
}

export function Figure({ label, value, testId, tone }: { label: string; value: ReactNode; testId: string; tone?: 'ok' | 'warn' | 'bad' }) {
  return (
    <div className={`figure ${tone ?? ''}`}>
      <div className="figure-label">{label}</div>
      <div className="figure-value" data-testid={testId}>
        {value}
      </div>
    </div>
  );
}

export function RangePicker({ range, onChange }: { range: RangeSpec; onChange: (r: RangeSpec) => void }) {
  const live = range.fixed === null;
  return (
    <div className="range-picker" role="group" aria-label="Time range">
      <label>
        Range{' '}
        <select
          aria-label="Range window"
          value={range.windowMs}
          onChange={(e) => onChange({ windowMs: Number(e.target.value), fixed: null })}
        >
          {RANGE_WINDOWS.map((w) => (
            <option key={w.ms} value={w.ms}>
              last {w.label}
            </option>
          ))}
          {!RANGE_WINDOWS.some((w) => w.ms === range.windowMs) && <option value={range.windowMs}>custom</option>}
        </select>
      </label>
      <button
        type="button"
        aria-pressed={!live}
        onClick={() => {
          if (live) {
            const now = Date.now();
            onChange({ windowMs: range.windowMs, fixed: { fromMs: now - range.windowMs, toMs: now } });
          } else onChange({ windowMs: range.windowMs, fixed: null });
        }}
      >
        {live ? 'Pause' : 'Resume live'}
      </button>
      <span className={`live-badge ${live ? 'on' : 'off'}`} data-testid="live-state">
        {live ? '● Live' : '❚❚ Paused'}
      </span>
      {range.fixed && (
        <>
          <FixedRangeInputs value={range.fixed} onChange={(fixed) => onChange({ ...range, fixed })} fromLabel="From" toLabel="To" />
          <span className="muted" title={`${formatDateTime(range.fixed.fromMs)} → ${formatDateTime(range.fixed.toMs)}`}>
            {Math.round((range.fixed.toMs - range.fixed.fromMs) / 1000)} s
          </span>
        </>
      )}
    </div>
  );
}

/** Two local date-time inputs for a fixed range; a change that would invert the range is ignored. */
export function FixedRangeInputs({ value, onChange, fromLabel, toLabel }: { value: FixedRange; onChange: (r: FixedRange) => void; fromLabel: string; toLabel: string }) {
  const field = (label: string, ms: number, apply: (ms: number) => FixedRange) => (
    <label>
      {label}{' '}
      <input
        type="datetime-local"
        step={1}
        aria-label={label}
        value={toLocalInput(ms)}
        onChange={(e) => {
          const parsed = fromLocalInput(e.target.value);
          if (parsed === null) return;
          const next = apply(parsed);
          if (next.fromMs < next.toMs) onChange(next);
        }}
      />
    </label>
  );
  return (
    <>
      {field(fromLabel, value.fromMs, (fromMs) => ({ ...value, fromMs }))}
      {field(toLabel, value.toMs, (toMs) => ({ ...value, toMs }))}
    </>
  );
}

export function TokenField() {
  const [token, setToken] = useState(getOperatorToken);
  useEffect(() => setOperatorToken(token), [token]);
  // Checked by the server as soon as it is entered, not at the first refused action.
  const who = useWhoAmI(token);
  return (
    <label className="token-field">
      Operator token{' '}
      <input
        type="password"
        autoComplete="off"
        aria-label="Operator token"
        value={token}
        onChange={(e) => setToken(e.target.value.trim())}
        placeholder="viewer only"
      />
      {token !== '' && who.data !== undefined && (
        <span className={`operator-badge ${who.data.role === 'operator' ? 'ok' : 'bad'}`} role="status" data-testid="operator-badge">
          {who.data.role === 'operator' ? 'Operator' : `Viewer — ${who.data.problem ?? 'token not accepted'}`}
        </span>
      )}
    </label>
  );
}

/** Shown when the newest scraped sample is older than STALE_AFTER_MS (scraping stopped), or polling fails. */
export function StaleBanner({ lastScrapeMs, nowMs, failing }: { lastScrapeMs: number | null; nowMs: number; failing: boolean }) {
  const message = staleMessage(lastScrapeMs, nowMs, failing);
  if (message === null) return null;
  return (
    <div className="stale-banner" role="alert" data-testid="stale-banner">
      ⚠ Data is stale: {message}
    </div>
  );
}

export function useNow(intervalMs = 1_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}

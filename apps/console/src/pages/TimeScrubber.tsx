import { formatDateTime, fromLocalInput, toLocalInput } from '../format.ts';

/**
 * Time scrubbing: a slider over the retained range and an exact moment field. null = now (live).
 * The moment lives in the URL (?at=…), so a link shows the same past map.
 */
export function TimeScrubber({ at, earliestMs, nowMs, onChange, what }: { at: number | null; earliestMs: number | null; nowMs: number; onChange: (at: number | null) => void; what: string }) {
  const min = Math.floor((earliestMs ?? nowMs) / 1000) * 1000;
  const max = Math.floor(nowMs / 1000) * 1000;
  const value = at ?? max;
  const set = (ms: number) => onChange(ms >= max ? null : Math.max(min, ms));
  return (
    <div className="scrubber" role="group" aria-label={`Time scrubbing of the ${what}`}>
      <label>
        {at === null ? `Showing the ${what} now` : `Showing the ${what} at ${formatDateTime(at)}`}{' '}
        <input
          type="range"
          aria-label={`${what} time`}
          min={min}
          max={max}
          step={1000}
          value={Math.min(max, Math.max(min, value))}
          onChange={(e) => set(Number(e.target.value))}
          disabled={max <= min}
        />
      </label>{' '}
      <label>
        Moment{' '}
        <input
          type="datetime-local"
          step={1}
          aria-label={`${what} moment`}
          value={toLocalInput(value)}
          onChange={(e) => {
            const ms = fromLocalInput(e.target.value);
            if (ms !== null) set(ms);
          }}
        />
      </label>{' '}
      <button type="button" disabled={at === null} onClick={() => onChange(null)}>
        Back to now
      </button>
      {earliestMs !== null && <span className="muted"> history from {formatDateTime(earliestMs)}</span>}
    </div>
  );
}

import type { Annotation } from '../model.ts';
import { formatTime } from '../format.ts';
import { GRID } from './theme.ts';

/** One line of text: what was injected, by whom, when, and when (or whether) it healed. */
export function describeAnnotation(a: Annotation): string {
  if (a.kind === 'step') return `${formatTime(a.startMs)} drill step: ${a.label}`;
  const healed = a.endMs === null ? 'not healed yet' : `healed ${formatTime(a.endMs)}${a.healedBy ? ` by ${a.healedBy}` : ''}`;
  return `${a.label} — by ${a.by ?? 'unknown'}, at ${formatTime(a.startMs)}, ${healed}`;
}

/**
 * The fault windows and drill steps of a time chart as DOM under its plot, aligned with the x axis
 * (same range, same grid margins): each is focusable and says on hover what was injected, by whom,
 * and when it healed. The chart shades the same windows on its canvas.
 */
export function FaultTrack({ annotations, range }: { annotations: Annotation[]; range: { fromMs: number; toMs: number } }) {
  if (annotations.length === 0) return null;
  const span = Math.max(1, range.toMs - range.fromMs);
  const pct = (ms: number) => ((Math.min(range.toMs, Math.max(range.fromMs, ms)) - range.fromMs) / span) * 100;
  return (
    <ul className="fault-track" aria-label="Fault windows and drill steps" style={{ marginLeft: GRID.left, marginRight: GRID.right }}>
      {annotations.map((a) => {
        const left = pct(a.startMs);
        const width = Math.max(0.6, pct(a.endMs ?? range.toMs) - left);
        const text = describeAnnotation(a);
        return (
          <li
            key={a.id}
            className={a.kind === 'fault' ? 'fault-window' : 'drill-step'}
            style={{ left: `${left}%`, width: a.kind === 'fault' ? `${width}%` : undefined }}
            tabIndex={0}
            title={text}
            aria-label={text}
            data-start-ms={a.startMs}
            data-end-ms={a.endMs ?? ''}
            data-left-pct={left.toFixed(2)}
          >
            <span aria-hidden="true">{a.kind === 'fault' ? `⚡ ${a.label}` : '▏'}</span>
          </li>
        );
      })}
    </ul>
  );
}

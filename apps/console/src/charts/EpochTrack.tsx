import { formatTime } from '../format.ts';
import { PALETTE } from './theme.ts';

export interface Epoch {
  fromMs: number;
  toMs: number;
  leader: number | null;
  term: number;
}

/**
 * The leader-epoch track: one bar over time, a segment per (leader, term), each labelled with its
 * node and term (readable without colour); a gap in leadership reads "none". Plain SVG: a few
 * segments do not need the chart library.
 */
export function EpochTrack({ epochs, range, at, label }: { epochs: Epoch[]; range: { fromMs: number; toMs: number }; at: number | null; label: string }) {
  const span = Math.max(1, range.toMs - range.fromMs);
  const x = (ms: number) => ((Math.min(range.toMs, Math.max(range.fromMs, ms)) - range.fromMs) / span) * 100;
  if (epochs.length === 0) return <p className="state empty">No leader history in this range yet.</p>;
  return (
    <figure className="epoch-track" aria-label={label}>
      <svg viewBox="0 0 100 10" preserveAspectRatio="none" width="100%" height="36" role="img" aria-label={label}>
        {epochs.map((e, i) => (
          <rect key={i} x={x(e.fromMs)} y={0} width={Math.max(0.2, x(e.toMs) - x(e.fromMs))} height={10} fill={e.leader === null ? '#ddd' : (PALETTE[(e.leader - 1) % PALETTE.length] ?? '#999')} stroke="#fff" strokeWidth={0.1}>
            <title>{`${e.leader === null ? 'no leader' : `node ${e.leader}`}, term ${e.term}: ${formatTime(e.fromMs)} → ${formatTime(e.toMs)}`}</title>
          </rect>
        ))}
        {at !== null && <line x1={x(at)} x2={x(at)} y1={0} y2={10} stroke="#000" strokeWidth={0.4} />}
      </svg>
      <figcaption>
        <ol className="epoch-list" data-testid="epoch-list">
          {epochs.map((e, i) => (
            <li key={i}>
              {formatTime(e.fromMs)}: {e.leader === null ? 'no leader' : `node ${e.leader}`} (term {e.term})
            </li>
          ))}
        </ol>
      </figcaption>
    </figure>
  );
}

import { Panel } from '../components.tsx';
import { useSlowTraces, useStalls, useTrace } from '../api.ts';
import { formatMs, formatTime } from '../format.ts';
import { Waterfall } from '../charts/lazy.ts';
import { Filters } from './Filters.tsx';
import type { PageProps } from './types.ts';

export default function TracesPage({ view, update }: PageProps) {
  const list = useSlowTraces(view.range, { node: view.node, partition: view.partition });
  return (
    <>
      <section className="panel" aria-label="Trace filters">
        <Filters view={view} update={update} node={false} />
      </section>
      <StallEvents view={view} update={update} />
      <div className="grid-2">
        <Panel title="Slowest writes in the range" query={list} isEmpty={(l) => l.length === 0} emptyText="No sampled writes in this range." testId="traces-slowest">
          {(l) => (
            <table aria-label="Slowest writes">
              <thead>
                <tr>
                  <th scope="col">time</th>
                  <th scope="col">partition</th>
                  <th scope="col">total</th>
                  <th scope="col">spans</th>
                  <th scope="col">
                    <span className="sr-only">open</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {l.map((t, i) => (
                  <tr key={t.traceId} className={view.trace === t.traceId ? 'highlight' : undefined}>
                    <td>{formatTime(t.startMs)}</td>
                    <td>{t.partition}</td>
                    <td data-testid={`trace-total-${i}`}>{formatMs(t.totalMs)}</td>
                    <td>{t.spanCount}</td>
                    <td>
                      <button
                        type="button"
                        aria-label={`Open trace ${t.traceId.slice(0, 8)} (${formatMs(t.totalMs)})`}
                        aria-pressed={view.trace === t.traceId}
                        onClick={() => update({ trace: t.traceId })}
                      >
                        Open
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Panel>
        {view.trace ? (
          <TraceWaterfall id={view.trace} />
        ) : (
          <section className="panel" aria-label="Write waterfall">
            <h2>Write waterfall</h2>
            <p className="state empty">Open a write to see its spans: append → persist → replicate → follower fsync → commit → ack.</p>
          </section>
        )}
      </div>
    </>
  );
}

function TraceWaterfall({ id }: { id: string }) {
  const q = useTrace(id);
  return (
    <Panel title={`Write ${id.slice(0, 8)}…`} query={q} isEmpty={(t) => t === null || t.spans.length === 0} emptyText="This trace is no longer retained." testId="trace-waterfall">
      {(t) =>
        t && (
          <>
            <p>
              Total <strong data-testid="trace-total">{formatMs(t.totalMs)}</strong> on partition {t.partition}.{' '}
              {t.culprit && (
                <span data-testid="trace-culprit">
                  Slowest step: <strong>▲ {t.culprit}</strong>
                </span>
              )}
            </p>
            <Waterfall spans={t.spans} label={`Waterfall of the spans of write ${id}; the slowest step is marked with a triangle`} testId="trace-waterfall-chart" />
          </>
        )
      }
    </Panel>
  );
}

/** Slow writes that overlapped, as one event each, with the node they stalled on. */
function StallEvents({ view, update }: PageProps) {
  const q = useStalls(view.range);
  return (
    <Panel title="Stall events — simultaneous slow writes" query={q} isEmpty={(l) => l.length === 0} emptyText="No stall: no three or more slow writes overlapped in this range." testId="stall-events">
      {(l) => (
        <table aria-label="Stall events">
          <thead>
            <tr>
              <th scope="col">time</th>
              <th scope="col">node</th>
              <th scope="col">writes</th>
              <th scope="col">worst</th>
              <th scope="col">what happened</th>
              <th scope="col"><span className="sr-only">open</span></th>
            </tr>
          </thead>
          <tbody>
            {l.map((e) => (
              <tr key={`${e.fromMs}-${e.traceIds[0] ?? ''}`} data-testid="stall-row">
                <td>{formatTime(e.fromMs)}</td>
                <td>{e.node === null ? '—' : `node ${e.node}`}</td>
                <td>{e.writes} on partition{e.partitions.length === 1 ? '' : 's'} {e.partitions.join(', ')}</td>
                <td>{formatMs(e.worstMs)}</td>
                <td>{e.explanation}</td>
                <td>
                  {e.traceIds[0] !== undefined && (
                    <button type="button" onClick={() => update({ trace: e.traceIds[0] ?? null })} aria-label={`Open a write of the stall at ${formatTime(e.fromMs)}`}>Open a write</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Panel>
  );
}

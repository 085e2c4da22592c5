import { useMemo } from 'react';
import { FixedRangeInputs, Panel } from '../components.tsx';
import { useAnnotations, useLatencyHeatmap, useLatencySeries, useSpectrum } from '../api.ts';
import { hrefFor } from '../use-view.ts';
import { formatDateTime, formatMs, formatCount } from '../format.ts';
import { resolveRange, type FixedRange } from '../url-state.ts';
import { PercentileSpectrum } from '../charts/lazy.ts';
import type { SpectrumSeries } from '../charts/PercentileSpectrum.tsx';
import { LatencyHeatmap } from '../charts/lazy.ts';
import { TimeSeriesChart } from '../charts/lazy.ts';
import { Filters, METRIC_LABELS } from './Filters.tsx';
import { NodeLatency } from './NodeLatency.tsx';
import type { PageProps } from './types.ts';

const SPECTRUM_QUANTILES: [string, number][] = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p99', 0.99],
  ['p99.9', 0.999],
  ['p99.99', 0.9999],
  ['p99.999', 0.99999],
];

export function valueAt(points: { quantile: number; ms: number }[], q: number): number | null {
  let best: number | null = null;
  for (const p of points) if (p.quantile <= q + 1e-12) best = p.ms;
  return best;
}

export default function LatencyPage({ view, update }: PageProps) {
  const filters = { metric: view.metric, node: view.node, partition: view.partition };
  const main = useSpectrum(view.range, filters);
  const lines = useLatencySeries(view.range, filters);
  const heat = useLatencyHeatmap(view.range, filters);
  const notes = useAnnotations(view.range);
  // p99.99 and max link to their evidence: the slowest traces of the same window.
  const tracesHref = hrefFor({ page: 'traces', trace: null }, view);
  const evidence = (testId: string, text: string, what: string) => (
    <a href={tracesHref} data-testid={testId} aria-label={`${what} ${text}: the slowest traces of this window`}>
      {text}
    </a>
  );
  const compareSpec = view.compare ? { windowMs: view.compare.toMs - view.compare.fromMs, fixed: view.compare } : null;
  const before = useSpectrum(compareSpec, filters);
  const metricLabel = METRIC_LABELS[view.metric];

  const series = useMemo<SpectrumSeries[]>(() => {
    const out: SpectrumSeries[] = [];
    if (main.data) out.push({ name: view.compare ? 'after (range)' : metricLabel, points: main.data.points, maxMs: main.data.maxMs });
    if (before.data) out.push({ name: 'before (compare)', points: before.data.points, maxMs: before.data.maxMs });
    return out;
  }, [main.data, before.data, view.compare, metricLabel]);

  const setCompare = (c: FixedRange | null) => update({ compare: c }, 'replace');
  const previousRange = (): FixedRange => {
    const r = resolveRange(view.range, Date.now());
    const len = r.toMs - r.fromMs;
    return { fromMs: r.fromMs - len, toMs: r.fromMs };
  };

  return (
    <>
      <section className="panel" aria-label="Latency filters">
        <Filters view={view} update={update} metric />
        <div className="filters" role="group" aria-label="Compare ranges" style={{ marginTop: 8 }}>
          {view.compare ? (
            <>
              <FixedRangeInputs value={view.compare} onChange={setCompare} fromLabel="Compare from" toLabel="Compare to" />
              <button type="button" onClick={() => setCompare(null)}>
                Clear comparison
              </button>
            </>
          ) : (
            <button type="button" onClick={() => setCompare(previousRange())}>
              Compare with the previous range
            </button>
          )}
        </div>
      </section>
      {view.node === null && view.partition === null && <NodeLatency range={view.range} metric={view.metric} onPickNode={(node) => update({ node }, 'replace')} />}
      <Panel
        title={`${metricLabel} latency — percentile spectrum`}
        query={main}
        isEmpty={(m) => m.count === 0}
        emptyText={view.partition !== null && view.metric !== 'append' ? 'Only append latency is recorded per partition: clear the partition filter or choose Append.' : 'No samples in this range.'}
        testId="latency-spectrum"
      >
        {(m) => (
          <>
            <table aria-label="Percentiles">
              <thead>
                <tr>
                  <th scope="col">range</th>
                  {SPECTRUM_QUANTILES.map(([l]) => (
                    <th key={l} scope="col">
                      {l}
                    </th>
                  ))}
                  <th scope="col">max</th>
                  <th scope="col">samples</th>
                </tr>
              </thead>
              <tbody>
                <tr>
                  <th scope="row">{view.compare ? 'after' : 'range'}</th>
                  {SPECTRUM_QUANTILES.map(([l, q]) => (
                    <td key={l} data-testid={`latency-${l}`}>
                      {l === 'p99.99' ? evidence('latency-p99.99-evidence', formatMs(valueAt(m.points, q)), l) : formatMs(valueAt(m.points, q))}
                    </td>
                  ))}
                  <td data-testid="latency-max">{evidence('latency-max-evidence', formatMs(m.maxMs), 'max')}</td>
                  <td data-testid="latency-count">{formatCount(m.count)}</td>
                </tr>
                {before.data && view.compare && (
                  <tr>
                    <th scope="row" title={`${formatDateTime(view.compare.fromMs)} → ${formatDateTime(view.compare.toMs)}`}>
                      before
                    </th>
                    {SPECTRUM_QUANTILES.map(([l, q]) => (
                      <td key={l} data-testid={`latency-before-${l}`}>
                        {formatMs(valueAt(before.data.points, q))}
                      </td>
                    ))}
                    <td data-testid="latency-before-max">{formatMs(before.data.maxMs)}</td>
                    <td>{formatCount(before.data.count)}</td>
                  </tr>
                )}
              </tbody>
            </table>
            {before.isError && <p className="state error" role="alert">Could not load the comparison range.</p>}
            <PercentileSpectrum
              series={series}
              label={`Percentile spectrum of ${metricLabel} latency, log scale in milliseconds${view.compare ? ', before and after' : ''}`}
              testId="latency-spectrum-chart"
            />
          </>
        )}
      </Panel>
      <div className="grid-2">
        <Panel title="p50 / p99 / p99.9 / max over time" query={lines} isEmpty={(m) => m.lines.p99.length === 0}>
          {(m) => (
            <TimeSeriesChart
              logY
              xRange={m.range}
              yUnit="ms"
              annotations={notes.data}
              testId="latency-series-chart"
              label={`${metricLabel} latency percentiles over time, log scale in milliseconds`}
              series={[
                { name: 'p50', points: m.lines.p50 },
                { name: 'p99', points: m.lines.p99, emphasis: true },
                { name: 'p99.9', points: m.lines.p999, dashed: true },
                { name: 'max', points: m.lines.max, dashed: true },
              ]}
            />
          )}
        </Panel>
        <Panel title="Latency heatmap" query={heat} isEmpty={(m) => m.cells.length === 0}>
          {(m) => (
            <LatencyHeatmap
              timesMs={m.timesMs}
              bucketsMs={m.bucketsMs}
              cells={m.cells}
              countUnit={view.metric === 'fsync' ? 'fsyncs per cell' : view.metric === 'replication-rtt' ? 'round trips per cell' : 'writes per cell'}
              label={`Heatmap of ${metricLabel} latency over time, log-spaced buckets in milliseconds; colour = ${view.metric === 'fsync' ? 'fsyncs' : view.metric === 'replication-rtt' ? 'round trips' : 'writes'} per cell`}
            />
          )}
        </Panel>
      </div>
    </>
  );
}


import { useMemo, type MouseEvent } from 'react';
import { Figure, Panel } from '../components.tsx';
import { useAnnotations, useLatencySeries, useOverview, useThroughput } from '../api.ts';
import { formatCount, formatMs, formatRate, formatTime } from '../format.ts';
import { hrefFor } from '../use-view.ts';
import { TimeSeriesChart } from '../charts/lazy.ts';
import type { Annotation, LatencySeriesModel, OverviewModel } from '../model.ts';
import type { PageProps } from './types.ts';

export function OverviewPage({ view, update }: PageProps) {
  const query = useOverview(view.range);
  const series = useLatencySeries(view.range, { metric: 'append', node: null, partition: null });
  const throughput = useThroughput(view.range);
  const slo = query.data?.sloP99Ms ?? null;
  const notes = useAnnotations(view.range).data;
  return (
    <>
      <Panel title="Cluster health" query={query} testId="overview-health">
        {(m) => (
          <>
            {view.range.fixed && <PausedNote nowMs={m.serverNowMs} />}
            <HealthFigures m={m} />
          </>
        )}
      </Panel>
      <Panel title="Active alerts" query={query} testId="overview-alerts">
        {(m) =>
          m.alerts.length === 0 ? (
            <p className="state empty" data-testid="overview-no-alerts">
              No active alerts.
            </p>
          ) : (
            <ul className="alerts">
              {m.alerts.map((a) => (
                <li key={a.id} data-testid={`alert-${a.id}`}>
                  <span className={`sev-${a.severity}`}>{a.severity === 'critical' ? '✖ critical' : '▲ warning'}</span>{' '}
                  <strong>{a.title}</strong> — {a.detail}{' '}
                  <a
                    href={hrefFor({ page: a.page, ...a.params }, view)}
                    onClick={(e: MouseEvent) => {
                      e.preventDefault();
                      update({ page: a.page, ...a.params });
                    }}
                  >
                    Explain on {a.page}
                  </a>
                </li>
              ))}
            </ul>
          )
        }
      </Panel>
      <div className="grid-2">
        <Panel title="Append p99 against the SLO" query={series} isEmpty={(s) => s.lines.p99.length === 0}>
          {(s) => <P99Chart s={s} sloMs={slo} annotations={notes} />}
        </Panel>
        <Panel title="Acknowledged records per second" query={throughput} isEmpty={(t) => t.points.length === 0}>
          {(t) => <RecordsChart t={t} annotations={notes} />}
        </Panel>
      </div>
    </>
  );
}

/** Health figures are the cluster's state now (p99 over the last minute), not over the chosen range. */
export function PausedNote({ nowMs }: { nowMs: number }) {
  return <p className="muted">Paused: state as of {formatTime(nowMs)}; the server keeps no history of it, so the range applies to the charts only.</p>;
}

function HealthFigures({ m }: { m: OverviewModel }) {
  return (
    <div className="figures">
      <Figure
        label="Nodes up"
        testId="overview-nodes-up"
        value={`${m.nodesUp} / ${m.nodesTotal}`}
        tone={m.nodesUp === m.nodesTotal ? 'ok' : 'bad'}
      />
      <Figure
        label="Partitions without leader"
        testId="overview-partitions-without-leader"
        value={m.partitionsWithoutLeader}
        tone={m.partitionsWithoutLeader === 0 ? 'ok' : 'bad'}
      />
      <Figure
        label="Under-replicated partitions"
        testId="overview-under-replicated"
        value={m.underReplicated}
        tone={m.underReplicated === 0 ? 'ok' : 'warn'}
      />
      <Figure
        label={`Append p99 (SLO ${formatMs(m.sloP99Ms)}) · ${formatCount(m.p99Samples)} samples, last minute`}
        testId="overview-p99-ms"
        value={formatMs(m.p99Ms)}
        tone={m.p99Ms === null ? undefined : m.p99Ms <= m.sloP99Ms ? 'ok' : 'warn'}
      />
      <Figure label="Records appended" testId="overview-appends-per-sec" value={formatRate(m.appendsPerSec)} />
      <ul className="node-list" aria-label="Nodes">
        {m.nodes.map((n) => (
          <li key={n.id} data-testid={`overview-node-${n.id}`}>
            {n.up ? '● up' : '✖ down'} node {n.id} — leads {n.partitionsLed}
            {n.downReason ? ` (${n.downReason})` : ''}
          </li>
        ))}
      </ul>
    </div>
  );
}

function P99Chart({ s, sloMs, annotations }: { s: LatencySeriesModel; sloMs: number | null; annotations: Annotation[] | undefined }) {
  const series = useMemo(() => [{ name: 'append p99', points: s.lines.p99, emphasis: true }], [s.lines.p99]);
  const threshold = useMemo(() => (sloMs === null ? null : { value: sloMs, label: `SLO ${formatMs(sloMs)}` }), [sloMs]);
  return (
    <TimeSeriesChart
      series={series}
      xRange={s.range}
      yUnit="ms"
      logY
      threshold={threshold}
      annotations={annotations}
      label={`Append p99 latency over time${sloMs === null ? '' : ` against the ${sloMs} ms SLO line`}`}
      testId="overview-p99-chart"
    />
  );
}

function RecordsChart({ t, annotations }: { t: NonNullable<ReturnType<typeof useThroughput>['data']>; annotations: Annotation[] | undefined }) {
  const series = useMemo(() => [{ name: 'records/s', points: t.points.map((p) => [p.tMs, p.recordsPerSec] as [number, number]) }], [t.points]);
  return <TimeSeriesChart series={series} xRange={t.range} yUnit="records/s" annotations={annotations} label="Acknowledged records per second over time" testId="overview-appends-chart" />;
}

import { useMemo, type MouseEvent } from 'react';
import { Figure, Panel } from '../components.tsx';
import { useOverview } from '../api.ts';
import { formatMs, formatRate } from '../format.ts';
import { hrefFor } from '../use-view.ts';
import { TimeSeriesChart } from '../charts/TimeSeriesChart.tsx';
import type { OverviewModel } from '../model.ts';
import type { PageProps } from './types.ts';

export function OverviewPage({ view, update }: PageProps) {
  const query = useOverview(view.range);
  return (
    <>
      <Panel title="Cluster health" query={query} testId="overview-health">
        {(m) => <HealthFigures m={m} />}
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
        <Panel title="Append p99 against SLO" query={query} isEmpty={(m) => m.p99Series.length === 0}>
          {(m) => <P99Chart m={m} />}
        </Panel>
        <Panel title="Appends per second" query={query} isEmpty={(m) => m.appendsSeries.length === 0}>
          {(m) => <AppendsChart m={m} />}
        </Panel>
      </div>
    </>
  );
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
        label={`Append p99 (SLO ${formatMs(m.sloP99Ms)})`}
        testId="overview-p99-ms"
        value={formatMs(m.p99Ms)}
        tone={m.p99Ms === null ? undefined : m.p99Ms <= m.sloP99Ms ? 'ok' : 'warn'}
      />
      <Figure label="Appends" testId="overview-appends-per-sec" value={formatRate(m.appendsPerSec)} />
    </div>
  );
}

function P99Chart({ m }: { m: OverviewModel }) {
  const series = useMemo(() => [{ name: 'append p99', points: m.p99Series, emphasis: true }], [m.p99Series]);
  const threshold = useMemo(() => ({ value: m.sloP99Ms, label: `SLO ${formatMs(m.sloP99Ms)}` }), [m.sloP99Ms]);
  return (
    <TimeSeriesChart
      series={series}
      yUnit="ms"
      logY
      threshold={threshold}
      label={`Append p99 latency over time against the ${m.sloP99Ms} ms SLO line`}
      testId="overview-p99-chart"
    />
  );
}

function AppendsChart({ m }: { m: OverviewModel }) {
  const series = useMemo(() => [{ name: 'appends/s', points: m.appendsSeries }], [m.appendsSeries]);
  return <TimeSeriesChart series={series} yUnit="appends/s" label="Appends per second over time" testId="overview-appends-chart" />;
}

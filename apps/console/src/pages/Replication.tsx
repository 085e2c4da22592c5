import { useMemo } from 'react';
import { Panel } from '../components.tsx';
import { useReplication } from '../api.ts';
import { formatCount } from '../format.ts';
import { TimeSeriesChart } from '../charts/lazy.ts';
import type { TimeSeries } from '../charts/TimeSeriesChart.tsx';
import type { ReplicaLag, ReplicationModel } from '../model.ts';
import { Filters } from './Filters.tsx';
import { ROLE_TEXT } from './Partitions.tsx';
import type { PageProps } from './types.ts';

/** Charts draw at most this many replicas (the laggiest) so they stay readable. */
const MAX_CHART_SERIES = 12;

/** Under-replicated partitions first, then by lag, so the trouble is at the top. */
export function orderReplicas(m: ReplicationModel): ReplicaLag[] {
  const under = new Set(m.underReplicated);
  return m.replicas
    .filter((r) => r.role !== 'leader')
    .sort(
      (a, b) =>
        Number(under.has(b.partition)) - Number(under.has(a.partition)) ||
        (b.lagRecords ?? -1) - (a.lagRecords ?? -1) ||
        a.partition - b.partition ||
        a.node - b.node,
    );
}

export default function ReplicationPage({ view, update }: PageProps) {
  const query = useReplication(view.range, { node: view.node, partition: view.partition });
  return (
    <>
      <section className="panel" aria-label="Replication filters">
        <Filters view={view} update={update} />
      </section>
      <div className="grid-2">
        <Panel title="Follower lag (records)" query={query} isEmpty={(m) => m.replicas.length === 0}>
          {(m) => <LagChart m={m} kind="records" />}
        </Panel>
        <Panel title="Follower lag (seconds)" query={query} isEmpty={(m) => m.replicas.length === 0}>
          {(m) => <LagChart m={m} kind="seconds" />}
        </Panel>
      </div>
      <Panel title="Replicas — under-replicated partitions first" query={query} isEmpty={(m) => m.replicas.length === 0} testId="replication-table">
        {(m) => {
          const under = new Set(m.underReplicated);
          return (
            <>
              <p data-testid="replication-under-replicated">
                {m.underReplicated.length === 0
                  ? 'No under-replicated partitions.'
                  : `Under-replicated: ${m.underReplicated.map((p) => `partition ${p}`).join(', ')}`}
              </p>
              <table aria-label="Replica lag">
                <thead>
                  <tr>
                    <th scope="col">partition</th>
                    <th scope="col">replica (node)</th>
                    <th scope="col">state</th>
                    <th scope="col">lag (records)</th>
                    <th scope="col">lag (s)</th>
                  </tr>
                </thead>
                <tbody>
                  {orderReplicas(m).map((r) => (
                    <tr
                      key={`${r.partition}-${r.node}`}
                      className={under.has(r.partition) ? 'highlight' : undefined}
                      data-testid={`replica-row-${r.partition}-${r.node}`}
                    >
                      <td>
                        {under.has(r.partition) ? '▲ ' : ''}
                        {r.partition}
                        {under.has(r.partition) ? ' (under-replicated)' : ''}
                      </td>
                      <td>{r.node}</td>
                      <td>{ROLE_TEXT[r.role].long}</td>
                      <td data-testid={`replica-lag-records-${r.partition}-${r.node}`}>{formatCount(r.lagRecords)}</td>
                      <td>{r.lagSeconds === null ? '—' : r.lagSeconds.toFixed(3)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          );
        }}
      </Panel>
    </>
  );
}

function LagChart({ m, kind }: { m: ReplicationModel; kind: 'records' | 'seconds' }) {
  const series = useMemo<TimeSeries[]>(() => {
    const under = new Set(m.underReplicated);
    return orderReplicas(m)
      .slice(0, MAX_CHART_SERIES)
      .map((r) => ({
        name: `p${r.partition} → node ${r.node}`,
        points: kind === 'records' ? r.lagRecordsSeries : r.lagSecondsSeries,
        emphasis: under.has(r.partition),
      }));
  }, [m, kind]);
  return (
    <TimeSeriesChart
      series={series}
      xRange={m.range}
      yUnit={kind === 'records' ? 'records' : 's'}
      label={`Follower replication lag in ${kind} over time, the ${MAX_CHART_SERIES} laggiest replicas`}
    />
  );
}

import { useMemo, useState } from 'react';
import { Figure, Panel } from '../components.tsx';
import { useAnnotations, useReplicationSummary } from '../api.ts';
import { formatCount } from '../format.ts';
import { TimeSeriesChart } from '../charts/lazy.ts';
import { LagHeatmap } from '../charts/lazy.ts';
import type { TimeSeries } from '../charts/TimeSeriesChart.tsx';
import { heldLagText, type Annotation, type ReplicationSummaryModel } from '../model.ts';
import { Filters } from './Filters.tsx';
import { ROLE_TEXT } from './Partitions.tsx';
import { TimeScrubber } from './TimeScrubber.tsx';
import type { PageProps } from './types.ts';

/** Under-replicated rows shown before "Show all": a crashed node makes hundreds. */
const UNDER_ROWS_SHOWN = 50;

export default function ReplicationPage({ view, update }: PageProps) {
  const query = useReplicationSummary(view.range, { node: view.node, partition: view.partition }, view.at);
  const notes = useAnnotations(view.range);
  return (
    <>
      <section className="panel" aria-label="Replication filters">
        <Filters view={view} update={update} />
      </section>
      <Panel title="Replica states" query={query} testId="replication-states">
        {(m) => (
          <>
            <TimeScrubber at={view.at} earliestMs={m.range.fromMs} nowMs={Math.max(m.range.toMs, view.at ?? 0)} onChange={(at) => update({ at }, 'replace')} what="replication state" />
            <div className="figures">
              <Figure label="in-sync followers" testId="replicas-in-sync" value={m.stateCounts.follower} tone="ok" />
              <Figure label="lagging" testId="replicas-lagging" value={m.stateCounts.lagging} tone={m.stateCounts.lagging === 0 ? 'ok' : 'warn'} />
              <Figure label="offline" testId="replicas-offline" value={m.stateCounts.offline} tone={m.stateCounts.offline === 0 ? 'ok' : 'bad'} />
              <Figure label="unknown" testId="replicas-unknown" value={m.stateCounts.unknown} />
              <Figure label="under-replicated partitions" testId="replication-under-count" value={m.underReplicated.length} tone={m.underReplicated.length === 0 ? 'ok' : 'warn'} />
            </div>
          </>
        )}
      </Panel>
      <Panel title="Lag heatmap — partition × time (worst follower)" query={query} isEmpty={(m) => m.heatmap.partitions.length === 0} emptyText="No follower lagged in this range." testId="lag-heatmap">
        {(m) => (
          <>
            <LagHeatmap
              timesMs={m.heatmap.timesMs}
              columnMs={m.heatmap.columnMs}
              partitions={m.heatmap.partitions}
              cells={m.heatmap.cells}
              annotations={notes.data}
              label={`Replication lag heatmap: ${m.heatmap.partitions.length} laggiest partitions over time, worst follower's lag in records, log-spaced bands`}
            />
            {m.heatmap.rowsOmitted > 0 && <p className="muted">{m.heatmap.rowsOmitted} more partitions lagged less (not drawn).</p>}
          </>
        )}
      </Panel>
      <div className="grid-2">
        <Panel title="Top laggards (records)" query={query} isEmpty={(m) => m.laggards.length === 0} emptyText="No follower lagged in this range.">
          {(m) => <LaggardsChart m={m} kind="records" annotations={notes.data} />}
        </Panel>
        <Panel title="Top laggards (seconds)" query={query} isEmpty={(m) => m.laggards.length === 0} emptyText="No follower lagged in this range.">
          {(m) => <LaggardsChart m={m} kind="seconds" annotations={notes.data} />}
        </Panel>
      </div>
      <Panel title="Under-replicated partitions" query={query} testId="replication-table">
        {(m) => <UnderReplicated m={m} onOpen={(p) => update({ page: 'partitions', partition: p })} />}
      </Panel>
    </>
  );
}

function UnderReplicated({ m, onOpen }: { m: ReplicationSummaryModel; onOpen: (p: number) => void }) {
  const [all, setAll] = useState(false);
  const rows = all ? m.underReplicated : m.underReplicated.slice(0, UNDER_ROWS_SHOWN);
  return (
    <>
      <p data-testid="replication-under-replicated">
        {m.underReplicated.length === 0
          ? 'No under-replicated partitions.'
          : `Under-replicated: ${m.underReplicated.length} partition(s)${m.atMs !== null ? ' at the chosen moment' : ''}.`}
      </p>
      {rows.length > 0 && (
        <table aria-label="Under-replicated partitions">
          <thead>
            <tr>
              <th scope="col">partition</th>
              <th scope="col">leader</th>
              <th scope="col">why (replica: state, lag)</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((u) => (
              <tr key={u.partition} data-testid={`under-row-${u.partition}`}>
                <td>
                  <button type="button" onClick={() => onOpen(u.partition)} aria-label={`Open partition ${u.partition}`}>
                    ▲ {u.partition}
                  </button>
                </td>
                <td>{u.leader === null ? 'none' : `node ${u.leader}`}</td>
                <td>
                  {u.replicas
                    .map((r) => `node ${r.node}: ${ROLE_TEXT[r.role].long}, ${heldLagText(r) ?? `${r.lagRecords === null ? 'lag unknown' : `${formatCount(r.lagRecords)} records`}${r.lagSeconds === null ? '' : ` / ${r.lagSeconds.toFixed(3)} s`}`}`)
                    .join('; ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {m.underReplicated.length > UNDER_ROWS_SHOWN && (
        <button type="button" onClick={() => setAll(!all)}>
          {all ? `Show the first ${UNDER_ROWS_SHOWN}` : `Show all ${m.underReplicated.length}`}
        </button>
      )}
    </>
  );
}

function LaggardsChart({ m, kind, annotations }: { m: ReplicationSummaryModel; kind: 'records' | 'seconds'; annotations: Annotation[] | undefined }) {
  const series = useMemo<TimeSeries[]>(
    () => m.laggards.map((r, i) => ({ name: `p${r.partition} → node ${r.node}`, points: kind === 'records' ? r.records : r.seconds, emphasis: i === 0 })),
    [m, kind],
  );
  return (
    <TimeSeriesChart
      series={series}
      xRange={m.range}
      yUnit={kind === 'records' ? 'records' : 's'}
      annotations={annotations}
      label={`Follower replication lag in ${kind} over time, the ${m.laggards.length} laggiest replicas (peak in the range)`}
    />
  );
}

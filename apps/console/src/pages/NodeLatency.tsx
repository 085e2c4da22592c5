// "Which node?" in five seconds: per-node p99 lines (worst first) for the chosen metric and a
// node table (leaders led, append / fsync / RTT p99, disk used, index memory, catch-up feed, lag,
// scrub, retention),
// with a leader-skew warning, the action that moves leadership back to the preferred replicas, and
// what moves it by itself (drained nodes, returned nodes waiting to settle, the last automatic move).
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { friendlyError, faultActions, useNodeSeries, useNodeTable, type NodeMetric, type NodeTableView } from '../api.ts';
import { Panel } from '../components.tsx';
import { formatDateTime, formatMs } from '../format.ts';
import { TimeSeriesChart } from '../charts/lazy.ts';
import type { RangeSpec } from '../url-state.ts';
import { METRIC_LABELS } from './Filters.tsx';


function formatBytes(b: number | null): string {
  if (b === null) return '—';
  if (b >= 1 << 30) return `${(b / (1 << 30)).toFixed(1)} GiB`;
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  if (b >= 1 << 10) return `${(b / (1 << 10)).toFixed(0)} KiB`;
  return `${b} B`;
}

/** A node feeding followers that catch up: what its reads take from segments, what it has in flight, and whether its read budget holds it back. */
function formatScrub(s: { bytesPerSec: number; passes: number } | null): string {
  if (s === null) return 'not reported';
  const passes = `${s.passes} ${s.passes === 1 ? 'pass' : 'passes'}`;
  return s.bytesPerSec < 1 ? `between passes · ${passes}` : `${formatBytes(Math.round(s.bytesPerSec))}/s checked · ${passes}`;
}

function formatCatchUp(c: { segmentReadBytesPerSec: number; throttledPerSec: number; inflightBytes: number } | null): string {
  if (c === null) return '—';
  if (c.segmentReadBytesPerSec < 1 && c.inflightBytes === 0) return 'idle';
  const throttled = c.throttledPerSec > 0 ? ' · read budget reached' : '';
  return `${formatBytes(Math.round(c.segmentReadBytesPerSec))}/s from disk · ${formatBytes(c.inflightBytes)} in flight${throttled}`;
}

/** What retention did on a node: segment bytes it deleted, snapshots it sent to replicas behind its log start. */
function formatRetention(r: { deletedBytes: number; snapshotsSent: number } | null): string {
  if (r === null) return 'not reported';
  const deleted = r.deletedBytes === 0 ? 'nothing deleted' : `${formatMiB(r.deletedBytes)} deleted`;
  return `${deleted} · ${r.snapshotsSent} ${r.snapshotsSent === 1 ? 'snapshot' : 'snapshots'} sent`;
}

/** Retention deletes whole segments (MiB to GiB): one unit reads across rows. */
function formatMiB(b: number): string {
  const mib = b / (1 << 20);
  return `${mib.toFixed(mib >= 100 ? 0 : 1)} MiB`;
}

export function NodeLatency({ range, metric, onPickNode }: { range: RangeSpec; metric: NodeMetric; onPickNode: (node: number) => void }) {
  const table = useNodeTable(range, metric);
  const lines = useNodeSeries(range, metric);
  const label = METRIC_LABELS[metric];
  return (
    <div className="grid-2">
      <Panel title={`${label} p99 per node — worst first`} query={lines} isEmpty={(m) => m.nodes.every((n) => n.points.length === 0)} testId="node-lines">
        {(m) => (
          <>
            <p data-testid="worst-node">
              {m.nodes[0]?.p99Ms != null ? <>Worst: <strong>node {m.nodes[0].node}</strong>, {label} p99 {formatMs(m.nodes[0].p99Ms)} over the range</> : 'No samples yet.'}
            </p>
            <TimeSeriesChart
              logY
              yUnit="ms"
              xRange={m.range}
              label={`${label} p99 per node over time, log scale in milliseconds, worst node first`}
              series={m.nodes.map((n, i) => ({ name: `node ${n.node} (p99 ${formatMs(n.p99Ms)})`, points: n.points.map((p) => [p.tMs, p.p99Ms] as [number, number]), emphasis: i === 0 }))}
            />
          </>
        )}
      </Panel>
      <Panel title="Nodes" query={table} isEmpty={(m) => m.rows.length === 0} testId="node-table">
        {(m) => <NodeTable data={m} metric={metric} onPickNode={onPickNode} />}
      </Panel>
    </div>
  );
}

/** What moves leadership by itself: returned nodes waiting to settle, drains, what holds returns, the last automatic move. */
function LeadershipLine({ leadership }: { leadership: NodeTableView['leadership'] }) {
  if (leadership === null) return null;
  const waiting = leadership.returning.map((r) => `${r.reason}: leads again from ${formatDateTime(r.settlesAtMs)}`);
  const last = leadership.last;
  return (
    <div className="muted" data-testid="leadership-auto">
      <p>
        {leadership.auto
          ? `Automatic rebalancing: a node back from a restart (or undrained) gets its preferred leaderships back after ${Math.round(leadership.settleMs / 1000)} s up.`
          : 'Automatic rebalancing is off (--rebalance-after-s 0): move leadership back by hand.'}
        {leadership.drained.length > 0 && <> Drained: node {leadership.drained.join(', ')}.</>}
        {leadership.heldBy.length > 0 && <> Returns held: {leadership.heldBy.join('; ')}.</>}
        {waiting.length > 0 && <> {waiting.join('; ')}.</>}
      </p>
      {last !== null && (
        <p data-testid="leadership-last">
          Last automatic move, {formatDateTime(last.atMs)}: {last.reason} — {last.moves.length === 0 ? 'nothing moved' : last.moves.map((m) => `p${m.partition} ${m.from}→${m.to}`).join(', ')}
          {last.errors.length > 0 && <span className="sev-warning"> (failed: {last.errors.join('; ')})</span>}
        </p>
      )}
    </div>
  );
}

function NodeTable({ data, metric, onPickNode }: { data: NonNullable<ReturnType<typeof useNodeTable>['data']>; metric: NodeMetric; onPickNode: (node: number) => void }) {
  const client = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const rebalance = () => {
    setBusy(true);
    setMessage(null);
    void faultActions.preferredLeaders()
      .then((r) => {
        setMessage(r.moved.length === 0 ? 'every partition is already led by its preferred replica' : `moved: ${r.moved.join(', ')}`);
        return client.invalidateQueries({ queryKey: ['logscope', 'nodes'] });
      })
      .catch((e: unknown) => setMessage(friendlyError(e)))
      .finally(() => setBusy(false));
  };
  return (
    <>
      {data.skew !== null && (
        <p className="skew-warning" role="alert" data-testid="leader-skew">
          ⚠ {data.skew}.{' '}
          <button type="button" disabled={busy} onClick={rebalance}>Move leadership to preferred replicas</button>
        </p>
      )}
      {data.skew === null && (
        <p className="muted">
          Leaders are spread evenly.{' '}
          <button type="button" className="link" disabled={busy} onClick={rebalance}>Move leadership to preferred replicas</button>
        </p>
      )}
      {message !== null && <p role="status">{message}</p>}
      <LeadershipLine leadership={data.leadership} />
      {/* Twelve columns do not fit half a page: the table scrolls sideways (and by keyboard) inside its card; the least urgent (scrub, retention) come last. */}
      <div className="table-wrap" role="region" aria-label="Node table (scrolls sideways)" tabIndex={0}>
        <table aria-label="Nodes, worst first">
          <thead>
            <tr>
              <th scope="col">node</th>
              <th scope="col">leaders led</th>
              <th scope="col">append p99</th>
              <th scope="col">fsync p99</th>
              <th scope="col">replication RTT p99</th>
              <th scope="col" title="The longest the node's event loop was held over the range: a long task, a garbage collection, a blocking call, or no CPU for it. A write that stalled at every step together is the node's own stall when this is high, the disk's when fsync p99 is">longest loop stall</th>
              <th scope="col">disk used</th>
              <th scope="col" title="Memory of the node's per-entry index of its logs: it grows with the entries kept, not their bytes">log index memory</th>
              <th scope="col" title="Feeding followers that catch up (and consumers reading history): bytes a second its log reads take from disk, entry bytes in flight to its followers, and whether its read budget (64 MiB/s) holds reads back">catch-up feed</th>
              <th scope="col">worst lag</th>
              <th scope="col" title="The node reads its whole log back in the background and checks every record's CRC, so a byte that rots where nothing reads is found (the node then restarts by itself to repair it): bytes a second it checks now, and whole passes since the node started">scrub</th>
              <th scope="col" title="What retention did on the node, in total since its counters began: segment bytes it deleted (each replica's log start moved past them; see a partition's replicas), and snapshots it sent as leader to a replica behind its log start, which it can no longer catch up with entries">retention</th>
            </tr>
          </thead>
          <tbody>
            {data.rows.map((r) => (
              <tr key={r.node} data-testid="node-row">
                <th scope="row">
                  <button type="button" className="link" onClick={() => onPickNode(r.node)} aria-label={`Filter by node ${r.node}`}>node {r.node}</button>
                  {!r.up && <span className="sev-critical"> down</span>}
                  {r.fsyncDelayMs > 0 && <span className="sev-warning"> (fsync slowed {r.fsyncDelayMs} ms)</span>}
                  {r.drained && (
                    <span
                      className="sev-warning"
                      data-testid="drained"
                      title={`Leads nothing while another replica can; ${r.campaignsDeferred ? 'its replicas campaign last (elections pick it only when no other replica can lead)' : 'not yet told to campaign last (it restarted: the console tells it at the next scrape)'}. Heal the drain (Faults page) to give it its leaderships back`}
                    >
                      {' '}drained{r.campaignsDeferred ? ', campaigns last' : ''}
                    </span>
                  )}
                </th>
                <td>{r.leadersLed} of {r.replicas}</td>
                <td className={metric === 'append' ? 'sorted' : ''}>{formatMs(r.appendP99Ms)}</td>
                <td className={metric === 'fsync' ? 'sorted' : ''}>{formatMs(r.fsyncP99Ms)}</td>
                <td className={metric === 'replication-rtt' ? 'sorted' : ''}>{formatMs(r.rttP99Ms)}</td>
                <td data-testid="loop-stall">{formatMs(r.loopStallMaxMs)}</td>
                <td>{formatBytes(r.diskUsedBytes)}</td>
                <td data-testid="index-memory">{formatBytes(r.indexBytes)}</td>
                <td data-testid="catch-up-feed">{formatCatchUp(r.catchUp)}</td>
                <td>{r.maxLagSeconds === null ? 'unknown' : `${r.maxLagSeconds.toFixed(3)} s`}</td>
                <td data-testid="scrub">{formatScrub(r.scrub)}</td>
                <td data-testid="retention">{formatRetention(r.retention)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

import { useNodesAndPartitions } from '../api.ts';
import { LATENCY_METRICS, type LatencyMetric, type ViewState } from '../url-state.ts';
import type { UpdateView } from '../use-view.ts';

export const METRIC_LABELS: Record<LatencyMetric, string> = {
  append: 'Append (client ack)',
  fsync: 'fsync',
  'replication-rtt': 'Replication RTT',
};

/** Above this many partitions the filter is a number field, not a list. */
export const PARTITION_SELECT_MAX = 64;

/** Node / partition / metric filters; every change goes to the URL (replace, so Back leaves the page). */
export function Filters({ view, update, metric = false, node = true }: { view: ViewState; update: UpdateView; metric?: boolean; node?: boolean }) {
  const topo = useNodesAndPartitions(view.range);
  const nodes = topo.data?.nodes ?? [];
  const partitions = topo.data?.partitions ?? [];
  const num = (v: string) => (v === '' ? null : Number(v));
  return (
    <div className="filters" role="group" aria-label="Filters">
      {node && (
      <label>
        Node{' '}
        <select aria-label="Node" value={view.node ?? ''} onChange={(e) => update({ node: num(e.target.value) }, 'replace')}>
          <option value="">All nodes</option>
          {nodes.map((n) => (
            <option key={n} value={n}>
              node {n}
            </option>
          ))}
          {view.node !== null && !nodes.includes(view.node) && <option value={view.node}>node {view.node}</option>}
        </select>
      </label>
      )}
      {partitions.length > PARTITION_SELECT_MAX ? (
        // Thousands of options would be most of the page's DOM: type the number instead.
        <label>
          Partition{' '}
          <input
            type="number"
            aria-label="Partition"
            min={0}
            max={partitions.length - 1}
            placeholder="all"
            value={view.partition ?? ''}
            onChange={(e) => update({ partition: num(e.target.value) }, 'replace')}
          />
        </label>
      ) : (
        <label>
          Partition{' '}
          <select
            aria-label="Partition"
            value={view.partition ?? ''}
            onChange={(e) => update({ partition: num(e.target.value) }, 'replace')}
          >
            <option value="">All partitions</option>
            {partitions.map((p) => (
              <option key={p} value={p}>
                partition {p}
              </option>
            ))}
            {view.partition !== null && !partitions.includes(view.partition) && (
              <option value={view.partition}>partition {view.partition}</option>
            )}
          </select>
        </label>
      )}
      {metric && (
        <label>
          Metric{' '}
          <select
            aria-label="Metric"
            value={view.metric}
            onChange={(e) => update({ metric: e.target.value as LatencyMetric }, 'replace')}
          >
            {LATENCY_METRICS.map((m) => (
              <option key={m} value={m}>
                {METRIC_LABELS[m]}
              </option>
            ))}
          </select>
        </label>
      )}
    </div>
  );
}

import { Panel } from '../components.tsx';
import { usePartitionDetail, usePartitionMap } from '../api.ts';
import { formatCount, formatDateTime } from '../format.ts';
import type { PartitionMapModel, ReplicaRole } from '../model.ts';
import type { PageProps } from './types.ts';

/** Every role reads as text and as a symbol, never by colour alone. */
export const ROLE_TEXT: Record<ReplicaRole, { short: string; long: string; className: string }> = {
  leader: { short: '★ L', long: 'leader', className: 'cell-leader' },
  follower: { short: 'F', long: 'in-sync follower', className: 'cell-follower' },
  lagging: { short: '⚠ lag', long: 'lagging follower', className: 'cell-lagging' },
  offline: { short: '✖ off', long: 'offline', className: 'cell-offline' },
};

export default function PartitionsPage({ view, update }: PageProps) {
  const map = usePartitionMap(view.range);
  return (
    <div className="grid-2">
      <Panel title="Partition map" query={map} isEmpty={(m) => m.partitions.length === 0} testId="partition-map">
        {(m) => (
          <>
            {view.range.fixed && (
              <p className="muted">Paused: the map is frozen at its last poll. It is the cluster's current state; the server keeps no history of it.</p>
            )}
            <PartitionMap m={m} selected={view.partition} onSelect={(p) => update({ partition: p })} />
          </>
        )}
      </Panel>
      {view.partition !== null ? (
        <PartitionDetail id={view.partition} view={view} update={update} />
      ) : (
        <section className="panel" aria-label="Partition detail">
          <h2>Partition detail</h2>
          <p className="state empty">Choose a partition on the map to see its term, commit index, high watermark, replica lag and elections.</p>
        </section>
      )}
    </div>
  );
}

function PartitionMap({ m, selected, onSelect }: { m: PartitionMapModel; selected: number | null; onSelect: (p: number) => void }) {
  return (
    <>
      <p className="muted">
        Legend: ★ L = leader · F = in-sync follower · ⚠ lag = lagging follower · ✖ off = offline · blank = no replica on
        that node
      </p>
      <table className="pmap" aria-label="Partitions by node">
        <thead>
          <tr>
            <th scope="col">partition</th>
            {m.nodes.map((n) => (
              <th key={n.id} scope="col" data-testid={`node-head-${n.id}`}>
                node {n.id}
                {n.up ? '' : ' (down)'}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {m.partitions.map((p) => (
            <tr key={p.id} className={selected === p.id ? 'highlight' : undefined}>
              <th scope="row">
                <button
                  type="button"
                  aria-label={`Partition ${p.id} detail`}
                  aria-pressed={selected === p.id}
                  onClick={() => onSelect(p.id)}
                >
                  {p.id}
                  {p.leader === null ? ' (no leader)' : ''}
                </button>
              </th>
              {m.nodes.map((n) => {
                const r = p.replicas.find((x) => x.node === n.id);
                if (!r)
                  return (
                    <td key={n.id} className="cell-none" data-testid={`partition-cell-${p.id}-${n.id}`} title={`partition ${p.id}: no replica on node ${n.id}`}>
                      ·
                    </td>
                  );
                const t = ROLE_TEXT[r.role];
                return (
                  <td
                    key={n.id}
                    className={t.className}
                    data-testid={`partition-cell-${p.id}-${n.id}`}
                    data-role={r.role}
                    title={`partition ${p.id} on node ${n.id}: ${t.long}`}
                  >
                    <span aria-hidden="true">{t.short}</span>{" "}
                    <span className="sr-only">{t.long}</span>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function PartitionDetail({ id, view, update }: { id: number } & PageProps) {
  const q = usePartitionDetail(id, view.range);
  return (
    <Panel
      title={`Partition ${id}`}
      query={q}
      testId="partition-detail"
      actions={
        <button type="button" onClick={() => update({ partition: null })}>
          Close detail
        </button>
      }
    >
      {(d) => (
        <>
          <dl className="figures">
            <div className="figure">
              <dt className="figure-label">leader</dt>
              <dd className="figure-value" data-testid="partition-leader">{d.leader === null ? 'none' : `node ${d.leader}`}</dd>
            </div>
            <div className="figure">
              <dt className="figure-label">term</dt>
              <dd className="figure-value" data-testid="partition-term">{d.term ?? '—'}</dd>
            </div>
            <div className="figure">
              <dt className="figure-label">commit index</dt>
              <dd className="figure-value" data-testid="partition-commit-index">{d.commitIndex ?? "—"}</dd>
            </div>
            <div className="figure">
              <dt className="figure-label">high watermark</dt>
              <dd className="figure-value" data-testid="partition-high-watermark">{d.highWatermark ?? "—"}</dd>
            </div>
          </dl>
          <h3>Replicas</h3>
          <table aria-label={`Replicas of partition ${id}`}>
            <thead>
              <tr>
                <th scope="col">node</th>
                <th scope="col">state</th>
                <th scope="col">lag (records)</th>
                <th scope="col">lag (s)</th>
              </tr>
            </thead>
            <tbody>
              {d.replicas.map((r) => (
                <tr key={r.node}>
                  <td>{r.node}</td>
                  <td>
                    {ROLE_TEXT[r.role].short} {ROLE_TEXT[r.role].long}
                  </td>
                  <td>{formatCount(r.lagRecords)}</td>
                  <td>{r.lagSeconds === null ? '—' : r.lagSeconds.toFixed(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Recent elections</h3>
          {d.elections.length === 0 ? (
            <p className="state empty">No elections in this range.</p>
          ) : (
            <ul data-testid="partition-elections">
              {d.elections.map((e, i) => (
                <li key={i}>
                  {formatDateTime(e.atMs)} — term {e.term ?? '?'}, leader {e.leader === null ? 'none' : `node ${e.leader}`}
                  {e.detail ? ` (${e.detail})` : ''}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Panel>
  );
}

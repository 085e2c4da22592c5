import { useMemo, useState } from 'react';
import { Panel } from '../components.tsx';
import { usePartitionDetail, usePartitionEpochs, usePartitionMap } from '../api.ts';
import { formatCount, formatDateTime, formatMs, formatTime } from '../format.ts';
import { heldLagText, type MapPartition, type PartitionMapModel, type PartitionProblem, type ReplicaRole } from '../model.ts';
import { EpochTrack } from '../charts/EpochTrack.tsx';
import { TimeScrubber } from './TimeScrubber.tsx';
import type { PageProps } from './types.ts';

/** Every role reads as text and as a symbol, never by colour alone. */
export const ROLE_TEXT: Record<ReplicaRole, { short: string; long: string; className: string }> = {
  leader: { short: '★ L', long: 'leader', className: 'cell-leader' },
  follower: { short: 'F', long: 'in-sync follower', className: 'cell-follower' },
  lagging: { short: '⚠ lag', long: 'lagging follower', className: 'cell-lagging' },
  offline: { short: '✖ off', long: 'offline', className: 'cell-offline' },
  unknown: { short: '? unk', long: 'unknown (not measured yet)', className: 'cell-unknown' },
};

/** The worst problem decides a cell's symbol and class. */
const PROBLEM_MARK: Record<PartitionProblem, { glyph: string; className: string }> = {
  'no leader': { glyph: '✖', className: 'pc-leaderless' },
  'under-replicated': { glyph: '▼', className: 'pc-under' },
  lagging: { glyph: '⚠', className: 'pc-lagging' },
  're-elected': { glyph: '↻', className: 'pc-elected' },
};

export type SortKey = 'partition' | 'lag' | 'elections' | 'p99';
const SORT_LABELS: Record<SortKey, string> = { partition: 'partition id', lag: 'lag (worst first)', elections: 'elections (most first)', p99: 'append p99 (slowest first)' };

/** "7", "7, 9", "100-120" or "p7": which partitions the search names (null = all). */
export function parseSearch(text: string): Set<number> | null {
  const t = text.trim().replace(/p/gi, '');
  if (t === '') return null;
  const out = new Set<number>();
  for (const part of t.split(/[,\s]+/)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let p = Math.min(a, b); p <= Math.max(a, b) && out.size < 100_000; p++) out.add(p);
  }
  return out;
}

export function sortPartitions(list: MapPartition[], key: SortKey): MapPartition[] {
  const v = (p: MapPartition): number => (key === 'lag' ? (p.lagRecordsMax ?? -1) : key === 'elections' ? p.elections : key === 'p99' ? (p.p99Ms ?? -1) : 0);
  return [...list].sort((a, b) => v(b) - v(a) || a.id - b.id);
}

export default function PartitionsPage({ view, update }: PageProps) {
  const [search, setSearch] = useState('');
  const [problemsOnly, setProblemsOnly] = useState(false);
  const [sort, setSort] = useState<SortKey>('partition');
  const [grouped, setGrouped] = useState(true);
  const map = usePartitionMap(view.range, view.at, sort === 'p99');
  return (
    <div className="grid-2">
      <Panel title="Partition map" query={map} isEmpty={(m) => m.partitions.length === 0} testId="partition-map">
        {(m) => (
          <>
            <TimeScrubber at={view.at} earliestMs={m.earliestMs} nowMs={m.serverNowMs} onChange={(at) => update({ at }, 'replace')} what="map" />
            <div className="filters" role="group" aria-label="Map filters">
              <label>
                Find partition{' '}
                <input type="search" aria-label="Find partition" placeholder="e.g. 7, 100-120" value={search} onChange={(e) => setSearch(e.target.value)} />
              </label>
              <label>
                <input type="checkbox" checked={problemsOnly} onChange={(e) => setProblemsOnly(e.target.checked)} /> Problems only
              </label>
              <label>
                Sort by{' '}
                <select aria-label="Sort by" value={sort} onChange={(e) => setSort(e.target.value as SortKey)}>
                  {(Object.keys(SORT_LABELS) as SortKey[]).map((k) => (
                    <option key={k} value={k}>
                      {SORT_LABELS[k]}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                <input type="checkbox" checked={grouped} onChange={(e) => setGrouped(e.target.checked)} /> Group by leader node
              </label>
            </div>
            <PartitionGrid m={m} search={search} problemsOnly={problemsOnly} sort={sort} grouped={grouped} selected={view.partition} onSelect={(p) => update({ partition: p })} />
          </>
        )}
      </Panel>
      {view.partition !== null ? (
        <PartitionDetail id={view.partition} view={view} update={update} map={map.data} />
      ) : (
        <section className="panel" aria-label="Partition detail">
          <h2>Partition detail</h2>
          <p className="state empty">Choose a partition on the map to see its term, commit index, high watermark, replica lag, leader epochs and elections.</p>
        </section>
      )}
    </div>
  );
}

function cellLabel(p: MapPartition, m: PartitionMapModel): string {
  const leader = p.leader === null ? 'no leader' : `leader node ${p.leader}`;
  const bad = p.replicas.filter((r) => r.role !== 'leader' && r.role !== 'follower').map((r) => `node ${r.node} ${ROLE_TEXT[r.role].long}`);
  const lag = p.lagRecordsMax === null ? '' : `, worst lag ${formatCount(p.lagRecordsMax)} records`;
  const p99 = p.p99Ms === null ? '' : `, p99 ${formatMs(p.p99Ms)} (${formatCount(p.samples)} samples)`;
  return `Partition ${p.id} detail — ${leader}, term ${p.term}${p.problems.length ? `; ${p.problems.join(', ')}` : '; healthy'}${bad.length ? ` (${bad.join(', ')})` : ''}${lag}${p99}${m.atMs !== null ? ` at ${formatTime(m.atMs)}` : ''}`;
}

function PartitionGrid({ m, search, problemsOnly, sort, grouped, selected, onSelect }: {
  m: PartitionMapModel; search: string; problemsOnly: boolean; sort: SortKey; grouped: boolean; selected: number | null; onSelect: (p: number) => void;
}) {
  const shown = useMemo(() => {
    const want = parseSearch(search);
    const list = m.partitions.filter((p) => (want === null || want.has(p.id)) && (!problemsOnly || p.problems.length > 0));
    return sortPartitions(list, sort);
  }, [m, search, problemsOnly, sort]);
  const problemCount = useMemo(() => m.partitions.filter((p) => p.problems.length > 0).length, [m]);
  const groups = useMemo(() => {
    if (!grouped) return [{ key: 'all', title: `${shown.length} partitions`, items: shown }];
    const by = new Map<number | null, MapPartition[]>();
    for (const p of shown) {
      let g = by.get(p.leader);
      if (g === undefined) by.set(p.leader, (g = []));
      g.push(p);
    }
    const nodes = [...m.nodes.map((n) => n.id), null];
    return nodes.filter((n) => by.has(n)).map((n) => {
      const node = m.nodes.find((x) => x.id === n);
      return { key: String(n), title: n === null ? `No leader — ${by.get(n)?.length ?? 0}` : `Led by node ${n}${node && !node.up ? ' (down)' : ''} — ${by.get(n)?.length ?? 0}`, items: by.get(n) ?? [] };
    });
  }, [shown, grouped, m.nodes]);
  return (
    <>
      <p className="muted" data-testid="partition-map-summary">
        {m.partitions.length} partitions · {problemCount} with problems · showing {shown.length}
        {m.atMs !== null ? ` · as of ${formatDateTime(m.atMs)}` : ''}
      </p>
      <p className="muted">
        Legend: ✖ no leader · ▼ under-replicated · ⚠ lagging · ↻ re-elected in the last minute · plain = healthy. Nodes:{' '}
        {m.nodes.map((n) => `node ${n.id} ${n.up ? 'up' : 'DOWN'}`).join(' · ')}
      </p>
      {shown.length === 0 && <p className="state empty">{problemsOnly ? 'No partition has a problem.' : 'No partition matches.'}</p>}
      {groups.map((g) => (
        <section key={g.key} className="pgrid-group" aria-label={g.title}>
          <h3>{g.title}</h3>
          <div className="pgrid">
            {g.items.map((p) => {
              const worst = p.problems[0];
              const mark = worst === undefined ? null : PROBLEM_MARK[worst];
              return (
                <button
                  key={p.id}
                  type="button"
                  className={`pcell ${mark?.className ?? 'pc-ok'}${selected === p.id ? ' selected' : ''}`}
                  data-testid={`pcell-${p.id}`}
                  data-leader={p.leader ?? 0}
                  data-problems={p.problems.join(',')}
                  aria-label={cellLabel(p, m)}
                  title={cellLabel(p, m)}
                  aria-pressed={selected === p.id}
                  onClick={() => onSelect(p.id)}
                >
                  {mark?.glyph ?? ''}
                  {p.id}
                </button>
              );
            })}
          </div>
        </section>
      ))}
    </>
  );
}

const LOG_START_TITLE = 'First offset this replica still holds; older records were deleted by retention (a read below it fails with OffsetOutOfRange). A follower behind its leader\'s log start is caught up with a snapshot instead of entries';

/** An offset in full (it is compared with a client's, so no rounding); — when its node is down or does not report it. */
function formatOffset(offset: number | null | undefined): string {
  return offset === null || offset === undefined ? '—' : String(offset);
}

function PartitionDetail({ id, view, update, map }: { id: number; map: PartitionMapModel | undefined } & PageProps) {
  const q = usePartitionDetail(id, view.range);
  const epochs = usePartitionEpochs(id, view.range);
  // While scrubbing, the replicas and leader are the map's at that moment; the figures stay current.
  const past = view.at !== null ? map?.partitions.find((p) => p.id === id) : undefined;
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
      {(d) => {
        const leader = past ? past.leader : d.leader;
        const replicas = past ? past.replicas : d.replicas;
        // Offsets are only known now (the map's history keeps states): while scrubbing, each replica's current ones.
        const offsets = new Map(d.replicas.map((r) => [r.node, r]));
        return (
          <>
            {past && <p className="muted">Leader and replica states as of {formatDateTime(view.at ?? 0)}; term, commit index, high watermark and log offsets are current.</p>}
            <dl className="figures">
              <div className="figure">
                <dt className="figure-label">leader</dt>
                <dd className="figure-value" data-testid="partition-leader">{leader === null ? 'none' : `node ${leader}`}</dd>
              </div>
              <div className="figure">
                <dt className="figure-label">term</dt>
                <dd className="figure-value" data-testid="partition-term">{past ? past.term : (d.term ?? '—')}</dd>
              </div>
              <div className="figure">
                <dt className="figure-label">commit index</dt>
                <dd className="figure-value" data-testid="partition-commit-index">{d.commitIndex ?? '—'}</dd>
              </div>
              <div className="figure">
                <dt className="figure-label">high watermark</dt>
                <dd className="figure-value" data-testid="partition-high-watermark">{d.highWatermark ?? '—'}</dd>
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
                  <th scope="col" title={LOG_START_TITLE}>log start (offset)</th>
                  <th scope="col" title="The offset the replica's next record will take, as its own node reports it">log end (offset)</th>
                </tr>
              </thead>
              <tbody>
                {replicas.map((r) => (
                  <tr key={r.node}>
                    <td>{r.node}</td>
                    <td className={ROLE_TEXT[r.role].className} data-testid={`partition-cell-${id}-${r.node}`} data-role={r.role}>
                      {ROLE_TEXT[r.role].short} {ROLE_TEXT[r.role].long}
                      {heldLagText(r) === null ? null : <span className="muted"> ({heldLagText(r)})</span>}
                    </td>
                    <td>{r.lagRecords === null ? 'unknown' : formatCount(r.lagRecords)}</td>
                    <td>{r.lagSeconds === null ? 'unknown' : r.lagSeconds.toFixed(3)}</td>
                    <td data-testid={`log-start-${id}-${r.node}`} title={LOG_START_TITLE}>{formatOffset(offsets.get(r.node)?.logStartOffset)}</td>
                    <td data-testid={`log-end-${id}-${r.node}`}>{formatOffset(offsets.get(r.node)?.logEndOffset)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h3>Leader epochs</h3>
            {epochs.data ? (
              <EpochTrack epochs={epochs.data.epochs} range={epochs.data.range} at={view.at} label={`Which node led partition ${id} over the range, per term`} />
            ) : epochs.isError ? (
              <p className="state error" role="alert">Could not load the leader epochs.</p>
            ) : (
              <p className="state loading" role="status">Loading…</p>
            )}
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
        );
      }}
    </Panel>
  );
}

// The audit trail as actions ("crash node 2 for at most 60 s", "crashed node 2 (drill Leader
// failover, step 1)"), linked to their drill run, filtered by action, outcome and time. The
// global range picker is not shown here: this page has its own time filter.
import { useState } from 'react';
import { Panel } from '../components.tsx';
import { AUDIT_PAGE_SIZE, useAuditFiltered, type AuditFilter } from '../api.ts';
import { formatDateTime, fromLocalInput, toLocalInput } from '../format.ts';
import type { PageProps } from './types.ts';

const ACTIONS: { value: string; label: string }[] = [
  { value: '', label: 'All actions' },
  { value: 'faults', label: 'Faults' },
  { value: 'drills', label: 'Drills' },
  { value: 'load', label: 'Load' },
  { value: 'cluster', label: 'Cluster (by itself)' },
];
const OUTCOMES = ['', 'ok', 'refused', 'error'] as const;

export default function AuditPage({ view, update }: PageProps) {
  const [filter, setFilter] = useState<AuditFilter>({ action: null, outcome: null, fromMs: null, toMs: null });
  const q = useAuditFiltered(view.auditBefore, filter);
  const change = (f: Partial<AuditFilter>) => {
    setFilter({ ...filter, ...f });
    if (view.auditBefore !== null) update({ auditBefore: null });
  };
  const filtered = filter.action !== null || filter.outcome !== null || filter.fromMs !== null || filter.toMs !== null;
  const timeInput = (label: string, value: number | null, set: (ms: number | null) => void) => (
    <label>
      {label}{' '}
      <input type="datetime-local" step={1} aria-label={label} value={value === null ? '' : toLocalInput(value)} onChange={(e) => set(e.target.value === '' ? null : fromLocalInput(e.target.value))} />
    </label>
  );
  return (
    <>
      <section className="panel" aria-label="Audit filters">
        <div className="filters" role="group" aria-label="Filter the audit trail">
          <label>
            Action{' '}
            <select aria-label="Action" value={filter.action ?? ''} onChange={(e) => change({ action: e.target.value === '' ? null : e.target.value })}>
              {ACTIONS.map((a) => <option key={a.value} value={a.value}>{a.label}</option>)}
            </select>
          </label>
          <label>
            Outcome{' '}
            <select aria-label="Outcome" value={filter.outcome ?? ''} onChange={(e) => change({ outcome: e.target.value === '' ? null : (e.target.value as AuditFilter['outcome']) })}>
              {OUTCOMES.map((o) => <option key={o} value={o}>{o === '' ? 'Any outcome' : o}</option>)}
            </select>
          </label>
          {timeInput('From time', filter.fromMs, (fromMs) => change({ fromMs }))}
          {timeInput('To time', filter.toMs, (toMs) => change({ toMs }))}
          {filtered && <button type="button" onClick={() => change({ action: null, outcome: null, fromMs: null, toMs: null })}>Clear filters</button>}
        </div>
      </section>
      <Panel
        title="Audit trail — newest first"
        query={q}
        isEmpty={(p) => p.entries.length === 0}
        emptyText={filtered ? 'No entry matches these filters.' : view.auditBefore === null ? 'No operator actions recorded yet.' : 'No older entries.'}
        testId="audit-trail"
      >
        {(p) => (
          <>
            <p className="muted" data-testid="audit-total">
              {p.total} entries in the trail; showing {p.entries.length}
              {filtered ? ' matching' : ''}
              {view.auditBefore === null ? ' newest' : ` older than #${view.auditBefore}`}.
              {/* The previous filter's rows stay on screen while the new ones load; say so, or they read as the answer. */}
              {q.isPlaceholderData && <> Updating for the new filters…</>}
            </p>
            <table aria-label="Audit trail" aria-busy={q.isPlaceholderData} className={q.isPlaceholderData ? 'stale' : undefined}>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">when</th>
                  <th scope="col">who</th>
                  <th scope="col">what</th>
                  <th scope="col">outcome</th>
                  <th scope="col">call</th>
                </tr>
              </thead>
              <tbody>
                {[...p.entries].sort((a, b) => b.seq - a.seq).map((e) => (
                  <tr key={e.seq} data-testid="audit-row">
                    <td>{e.seq}</td>
                    <td>{formatDateTime(e.atMs)}</td>
                    <td>{e.actor}</td>
                    <td>
                      {e.text}
                      {e.drillRunId !== null && <> · <a href={`?page=drills&run=${encodeURIComponent(e.drillRunId)}`}>drill run</a></>}
                    </td>
                    <td>{e.outcome}</td>
                    <td>
                      <details>
                        <summary>{e.action}</summary>
                        <code>{e.detail}</code>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <nav className="pager" aria-label="Audit pages">
              <button type="button" disabled={view.auditBefore === null} onClick={() => update({ auditBefore: null })}>
                Newest
              </button>
              <button type="button" disabled={p.nextCursor === null} onClick={() => update({ auditBefore: p.nextCursor })}>
                Older
              </button>
              <span className="muted">{AUDIT_PAGE_SIZE} per page</span>
            </nav>
          </>
        )}
      </Panel>
    </>
  );
}

import { Panel } from '../components.tsx';
import { AUDIT_PAGE_SIZE, useAudit } from '../api.ts';
import { formatDateTime } from '../format.ts';
import type { PageProps } from './types.ts';

export default function AuditPage({ view, update }: PageProps) {
  const q = useAudit(view.auditBefore, view.range.fixed === null);
  return (
    <Panel
      title="Audit trail — newest first"
      query={q}
      isEmpty={(p) => p.entries.length === 0}
      emptyText={view.auditBefore === null ? 'No operator actions recorded yet.' : 'No older entries.'}
      testId="audit-trail"
    >
      {(p) => (
        <>
          <p className="muted" data-testid="audit-total">
            {p.total} entries in the trail; showing {p.entries.length}
            {view.auditBefore === null ? ' newest' : ` older than #${view.auditBefore}`}.
          </p>
          <table aria-label="Audit trail">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">when</th>
                <th scope="col">who</th>
                <th scope="col">action</th>
                <th scope="col">input</th>
                <th scope="col">outcome</th>
              </tr>
            </thead>
            <tbody>
              {[...p.entries].sort((a, b) => b.seq - a.seq).map((e) => (
                <tr key={e.seq} data-testid="audit-row">
                  <td>{e.seq}</td>
                  <td>{formatDateTime(e.atMs)}</td>
                  <td>{e.actor}</td>
                  <td>{e.action}</td>
                  <td>
                    <code>{e.detail}</code>
                  </td>
                  <td>{e.outcome}</td>
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
  );
}

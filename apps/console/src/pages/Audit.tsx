import { Panel } from '../components.tsx';
import { useAudit } from '../api.ts';
import { formatDateTime } from '../format.ts';
import type { PageProps } from './types.ts';

export const AUDIT_PAGE_SIZE = 25;

export default function AuditPage({ view, update }: PageProps) {
  const q = useAudit(view.auditPage);
  return (
    <Panel title="Audit trail — newest first" query={q} isEmpty={(p) => p.entries.length === 0 && view.auditPage === 0} emptyText="No operator actions recorded yet." testId="audit-trail">
      {(p) => (
        <>
          <table aria-label="Audit trail">
            <thead>
              <tr>
                <th scope="col">when</th>
                <th scope="col">who</th>
                <th scope="col">action</th>
                <th scope="col">detail</th>
                <th scope="col">outcome</th>
              </tr>
            </thead>
            <tbody>
              {p.entries.map((e) => (
                <tr key={e.id} data-testid="audit-row">
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
            <button type="button" disabled={view.auditPage === 0} onClick={() => update({ auditPage: view.auditPage - 1 })}>
              Newer
            </button>
            <span data-testid="audit-page">
              Page {view.auditPage + 1}
              {p.total !== null ? ` of ${Math.max(1, Math.ceil(p.total / AUDIT_PAGE_SIZE))}` : ''}
            </span>
            <button type="button" disabled={!p.hasMore} onClick={() => update({ auditPage: view.auditPage + 1 })}>
              Older
            </button>
          </nav>
        </>
      )}
    </Panel>
  );
}

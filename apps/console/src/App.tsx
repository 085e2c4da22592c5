import { lazy, Suspense, type MouseEvent } from 'react';
import { useView, hrefFor } from './use-view.ts';
import { type PageId } from './url-state.ts';
import { RangePicker, StaleBanner, TokenField, useNow } from './components.tsx';
import { useLiveStream, useScrapeStatus } from './api.ts';
import { ActivityBanner } from './ActivityBanner.tsx';
import { OverviewPage } from './pages/Overview.tsx';

// Overview is the landing page and must be interactive fast; the rest load on first visit.
const LatencyPage = lazy(() => import('./pages/Latency.tsx'));
const ReplicationPage = lazy(() => import('./pages/Replication.tsx'));
const PartitionsPage = lazy(() => import('./pages/Partitions.tsx'));
const TracesPage = lazy(() => import('./pages/Traces.tsx'));
const FaultsPage = lazy(() => import('./pages/Faults.tsx'));
const DrillsPage = lazy(() => import('./pages/Drills.tsx'));
const AuditPage = lazy(() => import('./pages/Audit.tsx'));

export const PAGE_TITLES: Record<PageId, string> = {
  overview: 'Overview',
  latency: 'Latency',
  replication: 'Replication',
  partitions: 'Partitions',
  traces: 'Traces',
  faults: 'Faults',
  drills: 'Drills',
  audit: 'Audit',
};

const NAV_ORDER: PageId[] = ['overview', 'latency', 'replication', 'partitions', 'traces', 'faults', 'drills', 'audit'];
/** Pages with no time range: the picker would filter nothing there, so it is not shown. */
const NO_RANGE: ReadonlySet<PageId> = new Set(['faults', 'drills', 'audit']);

export function App() {
  const [view, update] = useView();
  useLiveStream();
  const now = useNow();
  const status = useScrapeStatus();

  const go = (page: PageId) => (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    update({ page });
  };

  return (
    <>
      <header className="app-header">
        <h1>Logscope</h1>
        <nav className="app-nav" aria-label="Pages">
          <ul>
            {NAV_ORDER.map((p) => (
              <li key={p}>
                <a href={hrefFor({ page: p }, view)} aria-current={view.page === p ? 'page' : undefined} onClick={go(p)}>
                  {PAGE_TITLES[p]}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <TokenField />
      </header>
      {!NO_RANGE.has(view.page) && (
        <div className="toolbar">
          <RangePicker range={view.range} onChange={(range) => update({ range })} />
        </div>
      )}
      <ActivityBanner />
      <StaleBanner lastScrapeMs={status.lastScrapeMs} nowMs={now} failing={status.failing} />
      <main aria-label={PAGE_TITLES[view.page]}>
        <Suspense fallback={<p className="state loading" role="status">Loading page…</p>}>
          {view.page === 'overview' && <OverviewPage view={view} update={update} />}
          {view.page === 'latency' && <LatencyPage view={view} update={update} />}
          {view.page === 'replication' && <ReplicationPage view={view} update={update} />}
          {view.page === 'partitions' && <PartitionsPage view={view} update={update} />}
          {view.page === 'traces' && <TracesPage view={view} update={update} />}
          {view.page === 'faults' && <FaultsPage view={view} update={update} />}
          {view.page === 'drills' && <DrillsPage />}
          {view.page === 'audit' && <AuditPage view={view} update={update} />}
        </Suspense>
      </main>
    </>
  );
}


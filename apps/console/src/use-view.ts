import { useCallback, useMemo, useSyncExternalStore } from 'react';
import { parseView, serializeView, type ViewState } from './url-state.ts';

// A tiny router: the query string is the store; history.pushState writes it, popstate reads it back.
const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

const getSearch = (): string => window.location.search;

export function navigate(next: ViewState, mode: 'push' | 'replace' = 'push'): void {
  const url = `${window.location.pathname}${serializeView(next)}`;
  if (url === `${window.location.pathname}${window.location.search}`) return;
  if (mode === 'push') window.history.pushState(null, '', url);
  else window.history.replaceState(null, '', url);
  for (const l of listeners) l();
}

export type UpdateView = (patch: Partial<ViewState>, mode?: 'push' | 'replace') => void;

export function useView(): [ViewState, UpdateView] {
  const search = useSyncExternalStore(subscribe, getSearch, getSearch);
  const view = useMemo(() => parseView(search), [search]);
  const update = useCallback<UpdateView>(
    (patch, mode = 'push') => navigate({ ...parseView(window.location.search), ...patch }, mode),
    [],
  );
  return [view, update];
}

export function hrefFor(patch: Partial<ViewState>, base: ViewState): string {
  return serializeView({ ...base, ...patch });
}

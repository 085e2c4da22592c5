import type { UpdateView } from '../use-view.ts';
import type { ViewState } from '../url-state.ts';

export interface PageProps {
  view: ViewState;
  update: UpdateView;
}

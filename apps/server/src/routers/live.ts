// Live subscriptions: yield once per scrape tick until the client goes away.

import type { Services } from '../services.ts';

/** Resolves on each scrape tick; ends when the signal aborts. */
export async function* ticks(services: Services, signal: AbortSignal | undefined): AsyncGenerator<number> {
  while (!signal?.aborted) {
    const tMs = await new Promise<number | null>((resolve) => {
      const listener = (t: number): void => {
        cleanup();
        resolve(t);
      };
      const onAbort = (): void => {
        cleanup();
        resolve(null);
      };
      const cleanup = (): void => {
        services.tickListeners.delete(listener);
        signal?.removeEventListener('abort', onAbort);
      };
      services.tickListeners.add(listener);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    if (tMs === null) return;
    yield tMs;
  }
}

// Helpers the console specs share: call the same tRPC procedures the SPA calls, and keep screenshots.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';

export const OPERATOR_TOKEN = process.env.LOGSCOPE_OPERATOR_TOKEN ?? 'e2e-operator-token';

/** GET /trpc/<proc>?input=… exactly as the SPA's link sends a single query. */
export async function query<T>(request: APIRequestContext, proc: string, input?: unknown): Promise<T> {
  const url = input === undefined ? `/trpc/${proc}` : `/trpc/${proc}?input=${encodeURIComponent(JSON.stringify(input))}`;
  const res = await request.get(url);
  expect(res.ok(), `${proc} → ${res.status()} ${await res.text()}`).toBeTruthy();
  return ((await res.json()) as { result: { data: T } }).result.data;
}

export async function mutate<T>(request: APIRequestContext, proc: string, input: unknown, token: string | null = OPERATOR_TOKEN): Promise<{ status: number; data: T | null }> {
  const res = await request.post(`/trpc/${proc}`, {
    data: input,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  const body = (await res.json()) as { result?: { data: T } };
  return { status: res.status(), data: body.result?.data ?? null };
}

/** Every decoded tRPC response the page receives for one procedure, newest last (batched or not). */
export function recordResponses<T>(page: Page, proc: string): T[] {
  const seen: T[] = [];
  page.on('response', async (res) => {
    const url = new URL(res.url());
    if (!url.pathname.startsWith('/trpc/')) return;
    const procs = url.pathname.slice('/trpc/'.length).split(',');
    const i = procs.indexOf(proc);
    if (i < 0) return;
    try {
      const body = (await res.json()) as unknown;
      const item = (Array.isArray(body) ? body[i] : body) as { result?: { data: T } };
      if (item.result) seen.push(item.result.data);
    } catch {
      // A navigation can abort a body read; the next poll supplies another.
    }
  });
  return seen;
}

/** Restarted nodes waiting for their leaderships back (faults.leadership; 0 without a cluster). */
export async function pendingReturns(request: APIRequestContext): Promise<number> {
  return (await query<{ returning: unknown[] } | null>(request, 'faults.leadership'))?.returning.length ?? 0;
}

/**
 * Waits until no restarted node waits for its leaderships back: a spec that reads leaders, or the
 * audit trail's newest row, is then not raced by the cluster's own moves (an earlier spec's restart).
 */
export async function leadershipSettled(request: APIRequestContext): Promise<void> {
  await expect.poll(() => pendingReturns(request), { timeout: 60_000 }).toBe(0);
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

/** A fixed range that has fully been scraped: ends a few seconds ago, so its windows are closed. */
export function settledRange(lengthMs: number, endAgoMs = 5_000): { fromMs: number; toMs: number } {
  const toMs = Math.floor((Date.now() - endAgoMs) / 1000) * 1000;
  return { fromMs: toMs - lengthMs, toMs };
}

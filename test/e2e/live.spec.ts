import { expect, test } from '@playwright/test';
import { shot } from './console-api.ts';

test('live figures arrive over SSE, not by polling', async ({ page }) => {
  const requests: string[] = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith('/trpc/')) requests.push(path.slice('/trpc/'.length));
  });
  await page.goto('/');
  const appends = page.getByTestId('overview-appends-per-sec');
  await expect(appends).toHaveText(/\/s$/, { timeout: 30_000 });
  const overviewFetches = requests.filter((r) => r === 'cluster.overview').length;
  const first = await appends.textContent();
  await expect(appends).not.toHaveText(first ?? '', { timeout: 30_000 });
  // The figure changed without another cluster.overview request: it came over the stream.
  expect(requests.filter((r) => r === 'cluster.overview').length).toBe(overviewFetches);
  expect(requests).toContain('stream.live');

});

test('while the live stream cannot connect the stale banner says so and figures keep coming; it reconnects', async ({ page }) => {
  let streamAttempts = 0;
  await page.route('**/trpc/stream.live**', (route) => {
    streamAttempts++;
    return route.abort('connectionrefused');
  });
  await page.goto('/');
  await expect(page.getByTestId('stale-banner')).toContainText('cannot reach the server', { timeout: 30_000 });
  // The views fall back to a timer while the stream is down.
  const appends = page.getByTestId('overview-appends-per-sec');
  await expect(appends).toHaveText(/\/s$/, { timeout: 30_000 });
  await shot(page, 'live-stream-down');
  expect(streamAttempts).toBeGreaterThan(0);
  await page.unroute('**/trpc/stream.live**');
  await expect(page.getByTestId('stale-banner')).toHaveCount(0, { timeout: 30_000 });
  const now = await appends.textContent();
  await expect(appends).not.toHaveText(now ?? '', { timeout: 30_000 });
});

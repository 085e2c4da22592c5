import { expect, test } from '@playwright/test';
import { formatMs, formatRate } from '../../apps/console/src/format.ts';
import { recordResponses, shot } from './console-api.ts';

interface Overview {
  nodes: { nodeId: number; up: boolean }[];
  leaderlessPartitions: number[];
  underReplicatedPartitions: number[];
  appendsPerSec: number;
  appendLatency: { count: number; p99Micros: number };
  alerts: { kind: string; page: string }[];
}

test('overview figures become live and change within 30 s', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Overview' })).toHaveAttribute('aria-current', 'page');
  const appends = page.getByTestId('overview-appends-per-sec');
  await expect(page.getByTestId('overview-nodes-up')).toHaveText(/^\d+ \/ \d+$/, { timeout: 30_000 });
  await expect(appends).toHaveText(/\/s$/);
  const first = await appends.textContent();
  await expect(appends).not.toHaveText(first ?? '', { timeout: 30_000 });
  await expect(page.getByTestId('overview-p99-ms')).toHaveText(/(µs|ms|s)$/, { timeout: 30_000 });
  await expect(page.getByTestId('live-state')).toHaveText(/Live/);
  await expect(page.getByTestId('stale-banner')).toHaveCount(0);
  await shot(page, 'overview-live');
});

test('overview figures match the API response the page received', async ({ page }) => {
  const seen = recordResponses<Overview>(page, 'cluster.overview');
  await page.goto('/');
  await expect(page.getByTestId('overview-nodes-up')).toHaveText(/\d/);
  // Pause: polling stops, so the screen holds the last response.
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByTestId('live-state')).toHaveText(/Paused/);
  await page.waitForTimeout(2_500);
  const o = seen.at(-1);
  expect(o, 'the page fetched cluster.overview').toBeDefined();
  if (!o) return;
  await expect(page.getByTestId('overview-nodes-up')).toHaveText(`${o.nodes.filter((n) => n.up).length} / ${o.nodes.length}`);
  await expect(page.getByTestId('overview-partitions-without-leader')).toHaveText(String(o.leaderlessPartitions.length));
  await expect(page.getByTestId('overview-under-replicated')).toHaveText(String(o.underReplicatedPartitions.length));
  await expect(page.getByTestId('overview-appends-per-sec')).toHaveText(formatRate(o.appendsPerSec));
  await expect(page.getByTestId('overview-p99-ms')).toHaveText(o.appendLatency.count > 0 ? formatMs(o.appendLatency.p99Micros / 1000) : '—');
  if (o.alerts.length === 0) await expect(page.getByTestId('overview-no-alerts')).toBeVisible();
  else await expect(page.getByRole('link', { name: /^Explain on / })).toHaveCount(o.alerts.length);
  await shot(page, 'overview-paused');
});

test('an alert links to the page that explains it', async ({ page }) => {
  await page.goto('/');
  const link = page.getByRole('link', { name: /^Explain on / }).first();
  await expect(link.or(page.getByTestId('overview-no-alerts'))).toBeVisible({ timeout: 30_000 });
  // Alerts come and go with the load; only follow one when there is one.
  if ((await link.count()) === 0) {
    await expect(page.getByTestId('overview-no-alerts')).toBeVisible();
    return;
  }
  const target = ((await link.textContent()) ?? '').replace('Explain on ', '').trim();
  await link.click();
  await expect(page).toHaveURL(new RegExp(`page=${target}`));
});

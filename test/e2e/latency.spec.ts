import { expect, test } from '@playwright/test';
import { formatCount, formatMs } from '../../apps/console/src/format.ts';
import { query, settledRange, shot } from './console-api.ts';

interface Histogram {
  count: number;
  spectrum: { percentile: number; valueMicros: number }[];
}

const at = (h: Histogram, p: number) => h.spectrum.find((x) => x.percentile === p)?.valueMicros ?? 0;

test('spectrum figures match the API for the same fixed range', async ({ page, request }) => {
  // Pin a settled range that already holds load (the server may have just started).
  let range = settledRange(20_000);
  await expect
    .poll(async () => {
      range = settledRange(20_000);
      return (await query<Histogram>(request, 'latency.histogram', { range, metric: 'append' })).count;
    }, { timeout: 30_000 })
    .toBeGreaterThan(0);
  await page.goto(`/?page=latency&from=${range.fromMs}&to=${range.toMs}`);
  await expect(page.getByTestId('live-state')).toHaveText(/Paused/);
  const h = await query<Histogram>(request, 'latency.histogram', { range, metric: 'append' });
  await expect(page.getByTestId('latency-count')).toHaveText(formatCount(h.count));
  await expect(page.getByTestId('latency-p50')).toHaveText(formatMs(at(h, 50) / 1000));
  await expect(page.getByTestId('latency-p99')).toHaveText(formatMs(at(h, 99) / 1000));
  await expect(page.getByTestId('latency-p99.9')).toHaveText(formatMs(at(h, 99.9) / 1000));
  await expect(page.getByTestId('latency-max')).toHaveText(formatMs(at(h, 100) / 1000));
  await expect(page.getByRole('img', { name: /Percentile spectrum/ })).toBeVisible();
  await expect(page.getByRole('img', { name: /Heatmap/ })).toBeVisible();
  await shot(page, 'latency-fixed');
});

test('filters and a comparison go into the URL, and the URL restores them', async ({ page, context, request }) => {
  await page.goto('/?page=latency');
  await page.getByRole('combobox', { name: 'Metric' }).selectOption('fsync');
  await page.getByRole('combobox', { name: 'Node' }).selectOption('2');
  await expect(page).toHaveURL(/metric=fsync/);
  await expect(page).toHaveURL(/node=2/);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Compare with the previous range' }).click();
  await expect(page).toHaveURL(/cfrom=\d+/);
  await expect(page.getByRole('row', { name: /^before/ })).toBeVisible();

  const url = page.url();
  const params = new URL(url).searchParams;
  // The paused range ends now; once its last windows are scraped it is settled, and the page, which
  // keeps polling until then, must show what the API returns.
  await page.waitForTimeout(Math.max(0, Number(params.get('to')) + 16_000 - Date.now()));
  const h = await query<Histogram>(request, 'latency.histogram', {
    range: { fromMs: Number(params.get('from')), toMs: Number(params.get('to')) },
    metric: 'fsync',
    node: 2,
  });
  await expect(page.getByTestId('latency-count')).toHaveText(h.count === 0 ? /.*/ : formatCount(h.count));

  // A pasted link restores the same view in a fresh tab.
  const other = await context.newPage();
  await other.goto(url);
  await expect(other.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Latency' })).toHaveAttribute('aria-current', 'page');
  await expect(other.getByRole('combobox', { name: 'Metric' })).toHaveValue('fsync');
  await expect(other.getByRole('combobox', { name: 'Node' })).toHaveValue('2');
  await expect(other.getByTestId('live-state')).toHaveText(/Paused/);
  await expect(other.getByRole('row', { name: /^before/ })).toBeVisible();
  if (h.count > 0) await expect(other.getByTestId('latency-count')).toHaveText(formatCount(h.count));
  await shot(other, 'latency-restored');
  await other.close();
});

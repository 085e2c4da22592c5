// Fault windows on time charts and time scrubbing, on the suite's default app (3 × 12); the same
// scripts run at 5 × 1 024 in fleet/fleet.spec.ts.
import { expect, test } from '@playwright/test';
import { OPERATOR_TOKEN, mutate } from './console-api.ts';
import { drillWindowOnLatency, scrubShowsOldLeader } from './fleet/scenarios.ts';

test.describe.configure({ mode: 'serial' });
test.setTimeout(240_000);

test('a drill\'s fault window is shaded on the Latency chart at the time of its crash', async ({ page, request, baseURL }) => {
  await drillWindowOnLatency(page, { baseUrl: baseURL ?? '', api: request, token: OPERATOR_TOKEN, name: 'default' });
});

test('a fault injected by hand is listed under the Overview charts with who injected it and when it healed', async ({ page, request }) => {
  expect((await mutate(request, 'faults.slowFsync', { node: 2, delayMs: 5 })).status).toBe(200);
  await new Promise((r) => setTimeout(r, 2_000));
  expect((await mutate(request, 'faults.slowFsync', { node: 2, delayMs: 0 })).status).toBe(200);
  await page.goto('/');
  const chart = page.getByRole('region', { name: 'Append p99 against the SLO' });
  const window = chart.getByRole('listitem', { name: /slow fsync on node 2 \(\+5 ms\) — by operator \(audit #\d+\).*healed .* by node 2 fsync back to normal/ }).last();
  await expect(window).toBeVisible({ timeout: 30_000 });
});

test('the map scrubbed to a past moment shows the old leader', async ({ page, request, baseURL }) => {
  await scrubShowsOldLeader(page, { baseUrl: baseURL ?? '', api: request, token: OPERATOR_TOKEN, name: 'default' }, 3);
});

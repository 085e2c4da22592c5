import { expect, test } from '@playwright/test';
import { leadershipSettled, mutate, query, shot } from './console-api.ts';

interface AuditPage {
  entries: { seq: number; action: string; outcome: string }[];
  total: number;
}

test('operator actions, allowed and refused, appear in the trail newest first', async ({ page, request }) => {
  // The newest row is compared with the API's: no automatic leadership move may land in between.
  await leadershipSettled(request);
  // One refused (no token) and one allowed action, so the trail is not empty.
  expect((await mutate(request, 'faults.healAll', undefined, null)).status).toBe(401);
  expect((await mutate(request, 'faults.healAll', undefined)).status).toBe(200);
  const api = await query<AuditPage>(request, 'audit.list', { limit: 25 });
  expect(api.entries.length).toBeGreaterThanOrEqual(2);

  await page.goto('/?page=audit');
  const rows = page.getByTestId('audit-row');
  await expect(rows.first()).toBeVisible();
  await expect(rows.first()).toContainText(String(api.entries[0]!.seq));
  await expect(rows.first()).toContainText(api.entries[0]!.action);
  await expect(page.getByTestId('audit-total')).toContainText(`${api.total} entries`);
  const seqs = (await rows.locator('td:first-child').allTextContents()).map(Number);
  expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
  await expect(page.getByRole('button', { name: 'Newest' })).toBeDisabled();
  await shot(page, 'audit');
});

test('the operator token field is labelled and kept for the session only', async ({ page }) => {
  await page.goto('/?page=audit');
  const field = page.getByLabel('Operator token');
  await field.fill('secret-for-this-tab');
  await page.reload();
  await expect(page.getByLabel('Operator token')).toHaveValue('secret-for-this-tab');
  expect(await page.evaluate('window.localStorage.length')).toBe(0);
});

test('older entries page by cursor, and the cursor is in the URL', async ({ page, request }) => {
  // Refused calls are audited too: enough of them to need a second page.
  for (let i = 0; i < 30; i++) await mutate(request, 'faults.healAll', undefined, null);
  await page.goto('/?page=audit');
  const rows = page.getByTestId('audit-row');
  await expect(rows).toHaveCount(25);
  const lastOnFirstPage = Number(await rows.last().locator('td').first().textContent());
  await page.getByRole('button', { name: 'Older' }).click();
  await expect(page).toHaveURL(/before=\d+/);
  await expect(rows.first().locator('td').first()).toHaveText(String(lastOnFirstPage - 1));
  await shot(page, 'audit-older');
  await page.reload();
  await expect(rows.first().locator('td').first()).toHaveText(String(lastOnFirstPage - 1));
  await page.getByRole('button', { name: 'Newest' }).click();
  await expect(page).not.toHaveURL(/before=/);
});

import { expect, test } from '@playwright/test';
import { shot } from './console-api.ts';

test('the Drills page is reachable from the nav and says honestly that drills are being built', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: 'Drills' }).click();
  await expect(page).toHaveURL(/page=drills/);
  await expect(page.getByRole('region', { name: 'Drills' })).toContainText(/being built/);
  await shot(page, 'drills');
});

// A guided drill as an operator runs it: enter the token, start the drill, press each step's
// button in turn, wait for its check to pass, then read the verdict. Specs are one call each.
import { expect, type Page } from '@playwright/test';
import { OPERATOR_TOKEN, shot } from '../console-api.ts';

export interface GuidedDrill {
  /** The drill's title as the Drills page lists it. */
  title: string;
  /** Step titles, in order: the buttons are "Run step N: <title>". */
  steps: string[];
}

export async function openDrillsAsOperator(page: Page): Promise<void> {
  await page.goto('/?page=drills');
  await page.getByLabel('Operator token').fill(OPERATOR_TOKEN);
  await expect(page.getByRole('region', { name: 'Drills' })).toBeVisible();
}

export async function runGuidedDrill(page: Page, drill: GuidedDrill, shotName: string): Promise<void> {
  await openDrillsAsOperator(page);
  // One drill at a time: the start button is enabled once the previous run has ended.
  const start = page.getByRole('button', { name: `Start guided: ${drill.title}` });
  await expect(start).toBeEnabled({ timeout: 60_000 });
  await start.click();

  const run = page.getByRole('region', { name: 'Drill run' });
  await expect(run).toContainText(`${drill.title} — guided run`);
  for (const [i, title] of drill.steps.entries()) {
    const n = i + 1;
    const card = run.getByRole('article', { name: `Step ${n}: ${title}` });
    await card.getByRole('button', { name: `Run step ${n}: ${title}` }).click();
    try {
      await expect(card.getByTestId(`step-${n}-check`)).toContainText('Check: passing', { timeout: 45_000 });
    } catch (error) {
      // The run's own words say why (an abort and its reason, the check's last figure): a failure
      // on CI must carry them, its artifacts do not outlive the run.
      const read = (region: string): Promise<string> => page.getByRole('region', { name: region }).innerText({ timeout: 2_000 }).catch(() => `(no ${region} to read)`);
      throw new Error(`step ${n} "${title}" did not pass; the drill run reads:\n${await read('Drill run')}\n\nand its report (an aborted run has one, with the reason and the timeline):\n${await read('Drill report')}`, { cause: error });
    }
  }

  const report = page.getByRole('region', { name: 'Drill report' });
  await expect(report.getByTestId('drill-verdict')).toContainText(/Verdict: (passed|failed)/, { timeout: 45_000 });
  // On failure the message carries the report's own explanation (which step, which write).
  await expect(report.getByTestId('drill-verdict'), await report.innerText()).toContainText(/Verdict: passed — 0 lost/);
  // Reads are part of the verdict: readers read acknowledged offsets during the drill, none stale.
  await expect(report.getByTestId('drill-verdict')).toContainText(/0 stale of [1-9]\d* reads/);
  await expect(report.getByRole('link', { name: 'JSON report' })).toBeVisible();
  await expect(report.getByRole('link', { name: 'Markdown report' })).toBeVisible();
  await shot(page, shotName);
}

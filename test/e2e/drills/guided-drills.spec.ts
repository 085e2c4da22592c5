// Every built-in drill driven through the console as an operator would. Each test is the drill's script:
// the step titles are the buttons pressed, in order.
import { expect, test } from '@playwright/test';
import { query } from '../console-api.ts';
import { openDrillsAsOperator, runGuidedDrill } from './guided.ts';

test.describe.configure({ mode: 'serial' });

test('leader failover: crash the leader, a new leader commits, the old one catches up, and gets its leaderships back by itself after the drill', async ({ page }) => {
  const startMs = Date.now();
  await runGuidedDrill(page, {
    title: 'Leader failover',
    steps: ['Crash the leader', 'Watch the new leader commit', 'Restart the old leader'],
  }, 'drill-leader-failover');
  await expect(page.getByTestId('drill-recover')).not.toHaveText('—');
  // The drill held the restarted node's return; once it ended (and the node has been up 10 s),
  // the console hands it its preferred leaderships back and says so as the cluster's own action.
  await expect.poll(async () => {
    const rows = await query<{ entries: { text: string; role: string }[] }>(page.request, 'audit.list', { action: 'cluster.rebalance', fromMs: startMs, limit: 5 });
    return rows.entries.some((e) => e.role === 'system' && /^node \d restarted: leadership transfers to the preferred replicas/.test(e.text));
  }, { timeout: 40_000 }).toBe(true);
  await expect.poll(async () => (await query<unknown[]>(page.request, 'faults.leadershipSkew')).length, { timeout: 20_000 }).toBe(0);
});

test('follower crash and catch-up: lag grows, restart, lag returns to zero', async ({ page }) => {
  await runGuidedDrill(page, {
    title: 'Follower crash and catch-up',
    steps: ['Crash a follower', 'Restart the follower'],
  }, 'drill-follower-catch-up');
});

test('minority isolation: the majority serves, the isolated leader steps down, heal', async ({ page }) => {
  await runGuidedDrill(page, {
    title: 'Minority isolation',
    steps: ['Isolate the leader', 'Check the majority keeps serving', 'Check the isolated node stepped down', 'Heal the network'],
  }, 'drill-minority-isolation');
});

test('slow disk: the quorum keeps the tail flat, the slow node is found by its fsync histogram, drained, undrained, and its leaderships return by themselves', async ({ page }) => {
  await runGuidedDrill(page, {
    title: 'Slow disk',
    steps: ['Slow the leader\'s disk', 'Find the slow node', 'Drain the slow node', 'Watch the tail recover', 'Restore the disk and undrain', 'Watch leadership return by itself'],
  }, 'drill-slow-disk');
});

test('quorum loss: appends are refused and nothing acknowledged, then service returns', async ({ page }) => {
  await runGuidedDrill(page, {
    title: 'Quorum loss',
    steps: ['Crash two replicas', 'Restart both replicas'],
  }, 'drill-quorum-loss');
});

test('corrupted segment: recovery finds the CRC mismatch, the replica repairs from the leader', async ({ page }) => {
  await runGuidedDrill(page, {
    title: 'Corrupted segment',
    steps: ['Corrupt a follower\'s segment', 'Watch the replica repair'],
  }, 'drill-corrupted-segment');
});

test('bit rot under a running node: the scrub finds it, the node restarts by itself and gets the lost record back', async ({ page }) => {
  await runGuidedDrill(page, {
    title: 'Bit rot under a running node',
    steps: ['Rot a byte under a running follower', 'Watch the replica repair'],
  }, 'drill-bit-rot');
  // Nobody pressed Restart: the trail says the cluster did it, and why.
  await page.goto('/?page=audit');
  await page.getByLabel('Action').selectOption({ label: 'Cluster (by itself)' });
  // Its automatic restart; the leaderships handed back to it later are the cluster's own rows too.
  const row = page.getByTestId('audit-row').filter({ hasText: 'restarted by itself' }).first();
  // What the scrub can say depends on where the byte rotted (the middle of the newest segment): a
  // CRC32C mismatch in the partition its index names (even when the byte is the record's own
  // partition field), or, in the record's length field, a length that makes no sense.
  await expect(row).toContainText(/node \d restarted by itself after it stopped on disk error: corrupt record in seg-\d+\.log at \d+( \(partition \d+\))?: (CRC32C mismatch|record length \d+.*) \(found by the scrub\)/, { timeout: 15_000 });
  await expect(row.locator('td').nth(2)).toHaveText('system');
  // The node runs again, and the Overview still warns that its disk may be failing.
  await page.goto('/');
  const warning = page.getByTestId('overview-alerts').getByRole('listitem').filter({ hasText: 'restarted by itself' });
  await expect(warning).toContainText(/▲ warning restarted by itself — node \d restarted by itself 1 time\(s\) in the last 10 min after it stopped on disk error: corrupt record .*; its disk may be failing/);
  await expect(warning.getByRole('link', { name: 'Explain on latency' })).toBeVisible();
});

test('corrupted tail: recovery keeps the acknowledged entries it lost as faulty, the leader repairs them', async ({ page }) => {
  await runGuidedDrill(page, {
    title: 'Corrupted tail',
    steps: ['Cut a follower\'s durable tail', 'Watch the replica repair'],
  }, 'drill-corrupted-tail');
});

test('disk put back to an older copy: a peer finds it, the node catches up, the Overview names it', async ({ page }) => {
  await runGuidedDrill(page, {
    title: 'Disk put back to an older copy',
    steps: ['Copy a follower\'s disk', 'Put the older copy back', 'Watch it catch up'],
  }, 'drill-disk-rollback');
  const told = page.getByRole('region', { name: 'Drill run' }).getByTestId('step-2-figure');
  await expect(told).toContainText(/node \d: node \d found its disk put back to an older copy/);
  // The cluster is whole again; the warning stays for whoever looks for what put the disk back.
  await page.goto('/');
  const warning = page.getByTestId('overview-alerts').getByRole('listitem').filter({ hasText: 'less on its disk than it had told its peers' });
  await expect(warning).toContainText(/▲ warning .*node \d came back .* with less on its disk than it had told its peers \(an older copy put back/);
});

test('disk full: appends fail at once with DiskFull naming the node, then resume by themselves when space is back', async ({ page }) => {
  await runGuidedDrill(page, {
    title: 'Disk full',
    steps: ['Crash a follower', 'Fill the other follower\'s disk', 'Give the space back', 'Restart the crashed follower'],
  }, 'drill-disk-full');
});

test('abort mid-drill heals the fault it injected', async ({ page }) => {
  await openDrillsAsOperator(page);
  const start = page.getByRole('button', { name: 'Start guided: Follower crash and catch-up' });
  await expect(start).toBeEnabled({ timeout: 60_000 });
  await start.click();
  const run = page.getByRole('region', { name: 'Drill run' });
  await run.getByRole('button', { name: 'Run step 1: Crash a follower' }).click();
  await expect(run.getByTestId('step-1-check')).toContainText('Check: passing', { timeout: 30_000 });
  await run.getByRole('button', { name: 'Abort' }).click();
  await expect(page.getByTestId('drill-run-status')).toHaveText('Status: aborted', { timeout: 30_000 });
  await expect(page.getByTestId('drill-verdict')).toContainText('0 lost');
  // The crashed follower was restarted: the drill can be started again.
  await expect(start).toBeEnabled({ timeout: 30_000 });
});

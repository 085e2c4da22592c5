import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AutoRestartEvent } from '../../../packages/log-cluster/src/auto-restart.ts';
import { auditFaultWindows } from './annotations.ts';
import { AuditTrail } from './auth.ts';
import { AUTO_RESTART_ACTION, AutoRestartAudit } from './auto-restart-audit.ts';
import { describeEntry } from './routers/audit.ts';

const REASON = 'disk error: corrupt record in seg-00000000000000000001.log at 4096 (partition 3): CRC32C mismatch (found by the scrub)';
const event = (seq: number, node: number, stoppedAtMs: number, restart: boolean, restarted: AutoRestartEvent['restarted']): AutoRestartEvent =>
  ({ seq, node, stoppedAtMs, reason: REASON, note: restart ? 'restarting by itself in 1 s to repair it (automatic restart 1 of at most 3 in 10 min)' : 'not restarted: 3 automatic restarts in 10 min already; the disk may be failing, so it waits to be told', restart, restarted });

describe('automatic restarts in the audit trail', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-autorestart-audit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records each once its restart ran (or at once when none was granted), as the system, and never twice, across a console restart', async () => {
    const events: AutoRestartEvent[] = [event(1, 2, 10_000, true, null)];
    const trail = AuditTrail.open(dir);
    const recorder = new AutoRestartAudit(trail, () => events);
    recorder.poll();
    await vi.waitFor(() => expect(trail.total).toBe(0)); // pending: nothing yet
    events[0] = event(1, 2, 10_000, true, { atMs: 11_050, error: null });
    events.push(event(2, 4, 12_000, false, null), event(3, 5, 13_000, true, { atMs: 14_000, error: 'port in use' }));
    recorder.poll();
    recorder.poll();
    await vi.waitFor(() => expect(trail.total).toBe(3));
    const entries = trail.list(undefined, 10).entries.reverse();
    expect(entries.map((e) => [e.role, e.action, e.outcome, (e.input as { restartedAtMs: number | null }).restartedAtMs])).toEqual([
      ['system', AUTO_RESTART_ACTION, 'ok', 11_050],
      ['system', AUTO_RESTART_ACTION, 'error', null],
      ['system', AUTO_RESTART_ACTION, 'error', 14_000],
    ]);
    // Recorded now, so the trail stays in time order whatever the events' own times.
    expect(entries.every((e, i) => e.timeMs >= (entries[i - 1]?.timeMs ?? 0) && e.timeMs > 1_000_000_000_000)).toBe(true);
    expect(entries.map((e) => describeEntry(e, [], new Map()).text)).toEqual([
      `node 2 restarted by itself after it stopped on ${REASON}`,
      `node 4 stopped on ${REASON} and was left down`,
      `node 5's automatic restart failed after it stopped on ${REASON}`,
    ]);
    expect(entries[2]?.message).toBe('the automatic restart failed: port in use');
    trail.close();

    // The console restarts over the same data dir; the supervisor still lists the same restarts.
    const again = AuditTrail.open(dir);
    new AutoRestartAudit(again, () => events).poll();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(again.total).toBe(3);
    again.close();
  });

  it('puts the node\'s time down on the timeline: from its stop to its restart, or open while it was left down', async () => {
    const trail = AuditTrail.open(dir);
    new AutoRestartAudit(trail, () => [event(1, 2, 10_000, true, { atMs: 11_050, error: null }), event(2, 4, 12_000, false, null)]).poll();
    await vi.waitFor(() => expect(trail.total).toBe(2));
    const windows = auditFaultWindows(trail.list(undefined, 10).entries);
    expect(windows).toEqual([
      { id: 'audit-1', source: 'audit', label: `node 2 stopped on ${REASON}`, by: 'the cluster by itself (audit #1)', auditSeq: 1, startMs: 10_000, endMs: 11_050, healedBy: 'restarted by itself' },
      { id: 'audit-2', source: 'audit', label: `node 4 stopped on ${REASON}`, by: 'the cluster by itself (audit #2)', auditSeq: 2, startMs: 12_000, endMs: null, healedBy: null },
    ]);
    trail.close();
  });
});

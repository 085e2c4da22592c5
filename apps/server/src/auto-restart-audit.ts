// Automatic restarts in the audit trail. A node that stops on a disk error is restarted by the
// cluster itself (the embedded cluster, or the supervisor of node processes; see AutoRestart), not by
// an operator; the trail is where "who did what" is answered, so each lands there once, as the
// actor `system`, when its restart has run (or at once when none was granted).

import type { AutoRestartEvent } from '../../../packages/log-cluster/src/auto-restart.ts';
import type { AuditEntry, AuditTrail } from './auth.ts';

export const AUTO_RESTART_ACTION = 'cluster.autoRestart';
/** Entries read back at start to find restarts an earlier run of this console already recorded. */
const RECORDED_SCAN_MAX = 2_000;

const keyOf = (node: unknown, stoppedAtMs: unknown): string => `${String(node)}@${String(stoppedAtMs)}`;

export class AutoRestartAudit {
  private readonly recorded = new Set<string>();

  constructor(
    private readonly audit: AuditTrail,
    private readonly events: () => readonly AutoRestartEvent[],
  ) {
    // The supervisor's list outlives a console restart: what is already in the trail stays once.
    let before: number | undefined;
    let scanned = 0;
    while (scanned < RECORDED_SCAN_MAX) {
      const page = audit.list(before, 200);
      for (const e of page.entries) if (e.action === AUTO_RESTART_ACTION) this.recorded.add(keyOfEntry(e));
      scanned += page.entries.length;
      if (page.nextCursor === null) break;
      before = page.nextCursor;
    }
  }

  /** Appends what is new and settled (called on every scrape tick). */
  poll(): void {
    for (const event of this.events()) {
      if (event.restart && event.restarted === null) continue; // its restart has yet to run
      const key = keyOf(event.node, event.stoppedAtMs);
      if (this.recorded.has(key)) continue;
      this.recorded.add(key);
      const failed = event.restarted?.error ?? null;
      void this.audit.append({
        // When it is recorded, so the trail stays in time order; the event's own times are in input.
        timeMs: Date.now(),
        role: 'system',
        action: AUTO_RESTART_ACTION,
        input: { node: event.node, stoppedAtMs: event.stoppedAtMs, restartedAtMs: event.restarted?.atMs ?? null, reason: event.reason, restarted: event.restart },
        outcome: event.restart && failed === null ? 'ok' : 'error',
        message: failed === null ? event.note : `the automatic restart failed: ${failed}`,
      }).catch((error: unknown) => console.error(`audit: automatic restart of node ${event.node} not recorded: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
}

function keyOfEntry(e: AuditEntry): string {
  const input = (typeof e.input === 'object' && e.input !== null ? e.input : {}) as Record<string, unknown>;
  return keyOf(input['node'], input['stoppedAtMs']);
}

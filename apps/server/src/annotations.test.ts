import { describe, expect, it } from 'vitest';
import { auditFaultWindows } from './annotations.ts';
import type { AuditEntry } from './auth.ts';

let seq = 0;
const entry = (timeMs: number, action: string, input: unknown, outcome: AuditEntry['outcome'] = 'ok'): AuditEntry => ({ seq: ++seq, timeMs, role: 'operator', action: `mutation:faults.${action}`, input, outcome, message: null });

describe('fault windows from the audit trail', () => {
  it('a crash opens a window that its node\'s restart closes, naming who did both', () => {
    const w = auditFaultWindows([entry(1_000, 'crash', { node: 3 }), entry(2_000, 'crash', { node: 4 }), entry(5_000, 'restart', { node: 3 })]);
    expect(w).toHaveLength(2);
    expect(w[0]).toMatchObject({ label: 'crash node 3', startMs: 1_000, endMs: 5_000, by: expect.stringContaining('operator') });
    expect(w[0]?.healedBy).toContain('restart node 3');
    expect(w[1]).toMatchObject({ label: 'crash node 4', endMs: null, healedBy: null });
  });

  it('heal all closes every open window; refused mutations inject nothing', () => {
    const w = auditFaultWindows([
      entry(1_000, 'slowFsync', { node: 2, delayMs: 40 }),
      entry(1_500, 'cutLink', { source: 1, target: 2, bothWays: true }),
      entry(1_600, 'crash', { node: 1 }, 'refused'),
      entry(3_000, 'healAll', null),
    ]);
    expect(w.map((x) => x.label)).toEqual(['slow fsync on node 2 (+40 ms)', 'cut link 1 ↔ 2']);
    expect(w.every((x) => x.endMs === 3_000 && x.healedBy?.startsWith('heal all'))).toBe(true);
  });

  it('a pause is a window of its own duration; a link is healed in either direction', () => {
    const w = auditFaultWindows([entry(1_000, 'pause', { node: 5, durationMs: 700 }), entry(2_000, 'cutLink', { source: 2, target: 1 }), entry(4_000, 'healLink', { source: 1, target: 2 })]);
    expect(w[0]).toMatchObject({ startMs: 1_000, endMs: 1_700 });
    expect(w[1]).toMatchObject({ startMs: 2_000, endMs: 4_000 });
  });
});

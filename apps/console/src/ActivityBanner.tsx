// On every page: a banner while a drill runs or a console fault is active, with Abort / Heal,
// so nobody reads a chart during a drill without knowing the drill caused it.
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { friendlyError, drillActions, drillKeys, useCurrentDrill, useOperatorFaults } from './api.ts';
import { useNow } from './components.tsx';
import { FaultLine, HealButton } from './fault-controls.tsx';


export function ActivityBanner() {
  const drill = useCurrentDrill().data ?? null;
  const faults = useOperatorFaults().data?.active ?? [];
  const now = useNow(500);
  const client = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (drill === null && faults.length === 0) return null;
  const waiting = drill?.steps.find((s) => s.status === 'waiting' || s.status === 'acting');
  const idleLeftS = drill !== null && drill.mode === 'guided' && waiting === undefined && drill.idleAbortMs != null
    ? Math.max(0, Math.ceil(((drill.steps.reduce((t, s) => Math.max(t, s.resolvedAtMs ?? 0), drill.startedMs)) + drill.idleAbortMs - now) / 1000))
    : null;
  return (
    <div className="activity-banner" role="region" aria-label="Drill or fault active" data-testid="activity-banner">
      {drill !== null && (
        <p>
          <strong>Drill running:</strong> {drill.title} ({drill.mode}) —{' '}
          {waiting !== undefined ? `step ${waiting.index + 1} "${waiting.title}" is being checked` : drill.nextStep < drill.steps.length ? `next: step ${drill.nextStep + 1} "${drill.steps[drill.nextStep]?.title ?? ''}"` : 'finishing'}
          {idleLeftS !== null && <> · aborts itself in {idleLeftS} s if no step is run</>}
          {' · '}<a href="?page=drills">open the drill</a>{' '}
          <button
            type="button"
            disabled={busy}
            onClick={() => {
              setBusy(true);
              setError(null);
              void drillActions.abort()
                .then(() => client.invalidateQueries({ queryKey: drillKeys.list() }))
                .catch((e: unknown) => setError(friendlyError(e)))
                .finally(() => setBusy(false));
            }}
          >
            Abort drill
          </button>
        </p>
      )}
      {faults.map((f) => (
        <p key={f.id}>
          <FaultLine fault={f} nowMs={now} /> <HealButton fault={f} />
        </p>
      ))}
      {error !== null && <p role="alert">{error}</p>}
    </div>
  );
}

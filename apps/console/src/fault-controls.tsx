// The line and the Heal button of one active console fault: on the Faults page and in the banner every page shows.
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { friendlyError, faultActions, faultKeys, type OperatorFaultView } from './api.ts';


export function FaultLine({ fault, nowMs }: { fault: OperatorFaultView; nowMs: number }) {
  const leftS = fault.expiresMs === null ? null : Math.max(0, Math.ceil((fault.expiresMs - nowMs) / 1000));
  return (
    <span>
      <strong>Fault active:</strong> {fault.description}
      {leftS !== null && <> — auto-heals in {leftS} s</>}
    </span>
  );
}

export function HealButton({ fault }: { fault: OperatorFaultView }) {
  const client = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          setError(null);
          void faultActions.heal(fault.id)
            .then(() => client.invalidateQueries({ queryKey: faultKeys.operatorFaults() }))
            .catch((e: unknown) => setError(friendlyError(e)))
            .finally(() => setBusy(false));
        }}
      >
        Heal: {fault.description}
      </button>
      {error !== null && <span role="alert" className="sev-critical"> {error}</span>}
    </>
  );
}

// Runbook buttons outside drills: crash/restart, isolate, cut a link, slow a disk, pause, move
// leadership, drain a node, load rate, and a scrub of a node's log now (after a disk alert). Every action goes
// through a confirm step that shows its blast radius from the current map (which partitions lose
// their leader, which lose quorum) and carries a time limit after which the server heals it;
// active faults are listed with Heal.
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { friendlyError, faultActions, faultKeys, useFaultPreview, useNodesAndPartitions, useOperatorFaults, type FaultActionInput } from '../api.ts';
import { FaultLine, HealButton } from '../fault-controls.tsx';
import { useNow } from '../components.tsx';
import { formatDateTime } from '../format.ts';
import type { PageProps } from './types.ts';

type Kind = FaultActionInput['kind'];

const KINDS: { kind: Kind; label: string }[] = [
  { kind: 'crash', label: 'Crash node (restarted on heal)' },
  { kind: 'isolate', label: 'Isolate node' },
  { kind: 'cutLink', label: 'Cut a link' },
  { kind: 'linkDelay', label: 'Delay a link' },
  { kind: 'slowFsync', label: 'Slow a node\'s disk (fsync)' },
  { kind: 'pause', label: 'Pause node (GC-like stall)' },
  { kind: 'transferLeadership', label: 'Move a partition\'s leadership' },
  { kind: 'load', label: 'Set the load rate' },
  { kind: 'scrub', label: 'Scrub a node\'s log now (check every record)' },
  { kind: 'drain', label: 'Drain a node (move its leaderships away, keep them away)' },
];

/** Time limits offered; the server heals the fault when it passes. */
const TIME_LIMITS_S = [10, 30, 60, 300, 900];

const newKey = (): string => (typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

function buildAction(kind: Kind, f: { node: number; target: number; delayMs: number; partition: number; ratePerSec: number }): FaultActionInput {
  switch (kind) {
    case 'crash': case 'isolate': case 'pause': case 'scrub': case 'drain': return { kind, node: f.node };
    case 'slowFsync': return { kind, node: f.node, delayMs: f.delayMs };
    case 'cutLink': return { kind, source: f.node, target: f.target };
    case 'linkDelay': return { kind, source: f.node, target: f.target, delayMs: f.delayMs };
    case 'transferLeadership': return { kind, partition: f.partition, to: f.target };
    case 'load': return { kind, ratePerSec: f.ratePerSec };
  }
}

export default function FaultsPage(_props: PageProps) {
  const topo = useNodesAndPartitions({ windowMs: 60_000, fixed: null });
  const nodes = topo.data?.nodes ?? [];
  const partitions = topo.data?.partitions ?? [];
  const [kind, setKind] = useState<Kind>('crash');
  const [node, setNode] = useState<number | null>(null);
  const [target, setTarget] = useState<number | null>(null);
  const [delayMs, setDelayMs] = useState(50);
  const [partition, setPartition] = useState(0);
  const [ratePerSec, setRatePerSec] = useState(500);
  const [limitS, setLimitS] = useState(60);
  const [confirming, setConfirming] = useState<{ action: FaultActionInput; key: string } | null>(null);
  const n = node ?? nodes[0] ?? 1;
  const t = target ?? nodes.find((x) => x !== n) ?? nodes[0] ?? 1;
  const needsNode = kind !== 'load' && kind !== 'transferLeadership';
  const needsTarget = kind === 'cutLink' || kind === 'linkDelay' || kind === 'transferLeadership';
  const needsDelay = kind === 'slowFsync' || kind === 'linkDelay';
  const instant = kind === 'transferLeadership' || kind === 'scrub';

  return (
    <div className="faults">
      <section className="panel" aria-label="Inject a fault">
        <h2>Runbook actions</h2>
        <p className="muted">
          Each action shows what it will break before it runs, heals itself when its time limit passes, and is audited. It
          needs the operator token. Pressing twice does one thing.
        </p>
        <div className="filters" role="group" aria-label="Fault">
          <label>
            Action{' '}
            <select aria-label="Action" value={kind} onChange={(e) => { setKind(e.target.value as Kind); setConfirming(null); }}>
              {KINDS.map((k) => <option key={k.kind} value={k.kind}>{k.label}</option>)}
            </select>
          </label>
          {needsNode && (
            <label>
              {needsTarget ? 'From node' : 'Node'}{' '}
              <select aria-label={needsTarget ? 'From node' : 'Node'} value={n} onChange={(e) => { setNode(Number(e.target.value)); setConfirming(null); }}>
                {nodes.map((x) => <option key={x} value={x}>node {x}</option>)}
              </select>
            </label>
          )}
          {kind === 'transferLeadership' && (
            <label>
              Partition{' '}
              <select aria-label="Partition" value={partition} onChange={(e) => { setPartition(Number(e.target.value)); setConfirming(null); }}>
                {partitions.map((p) => <option key={p} value={p}>partition {p}</option>)}
              </select>
            </label>
          )}
          {needsTarget && (
            <label>
              {kind === 'transferLeadership' ? 'To node' : 'To node'}{' '}
              <select aria-label="To node" value={t} onChange={(e) => { setTarget(Number(e.target.value)); setConfirming(null); }}>
                {nodes.map((x) => <option key={x} value={x}>node {x}</option>)}
              </select>
            </label>
          )}
          {needsDelay && (
            <label>
              Added delay (ms){' '}
              <input aria-label="Added delay (ms)" type="number" min={1} max={10_000} value={delayMs} onChange={(e) => { setDelayMs(Number(e.target.value)); setConfirming(null); }} />
            </label>
          )}
          {kind === 'load' && (
            <label>
              Load (records/s){' '}
              <input aria-label="Load (records/s)" type="number" min={1} max={50_000} value={ratePerSec} onChange={(e) => { setRatePerSec(Number(e.target.value)); setConfirming(null); }} />
            </label>
          )}
          {!instant && (
            <label>
              Time limit{' '}
              <select aria-label="Time limit" value={limitS} onChange={(e) => setLimitS(Number(e.target.value))}>
                {TIME_LIMITS_S.map((s) => <option key={s} value={s}>{s < 60 ? `${s} s` : `${s / 60} min`}</option>)}
              </select>
            </label>
          )}
          <button type="button" onClick={() => setConfirming({ action: buildAction(kind, { node: n, target: t, delayMs, partition, ratePerSec }), key: newKey() })}>
            Preview blast radius
          </button>
        </div>
        {confirming !== null && <Confirm action={confirming.action} idempotencyKey={confirming.key} timeLimitMs={instant ? 1_000 : limitS * 1000} onDone={() => setConfirming(null)} />}
      </section>
      <ActiveFaults />
    </div>
  );
}

function Confirm({ action, idempotencyKey, timeLimitMs, onDone }: { action: FaultActionInput; idempotencyKey: string; timeLimitMs: number; onDone: () => void }) {
  const preview = useFaultPreview(action);
  const client = useQueryClient();
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const p = preview.data;
  const unhealthy = (p?.problems.length ?? 0) > 0 && action.kind !== 'load' && action.kind !== 'transferLeadership' && action.kind !== 'drain';
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      // The dialog's key: a double click, a retry after a timeout, or a second tab's press is one fault.
      await faultActions.inject(action, timeLimitMs, idempotencyKey, force);
      await client.invalidateQueries({ queryKey: faultKeys.operatorFaults() });
      onDone();
    } catch (e) {
      setError(friendlyError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel confirm" role="dialog" aria-label="Confirm fault" aria-modal="false">
      <h3>Confirm: {p?.description ?? '…'}</h3>
      {preview.isError && <p role="alert" className="sev-critical">Could not compute the blast radius: {friendlyError(preview.error)}</p>}
      {p === undefined && !preview.isError && <p role="status" className="state loading">Computing the blast radius from the current map…</p>}
      {p !== undefined && (
        <>
          <h4>Blast radius (from the current partition map)</h4>
          <ul data-testid="blast-radius">
            {p.blast.notes.map((note) => <li key={note}>{note}</li>)}
          </ul>
          <p>
            Lose their leader: <strong data-testid="blast-leader-loss">{p.blast.leaderLoss.length === 0 ? 'none' : p.blast.leaderLoss.map((x) => `p${x}`).join(', ')}</strong>{' · '}
            Lose quorum: <strong data-testid="blast-quorum-loss" className={p.blast.quorumLoss.length > 0 ? 'sev-critical' : ''}>{p.blast.quorumLoss.length === 0 ? 'none' : p.blast.quorumLoss.map((x) => `p${x}`).join(', ')}</strong>
          </p>
          {action.kind !== 'transferLeadership' && action.kind !== 'scrub' && <p className="muted">{action.kind === 'drain' ? 'Undrains itself' : 'Heals itself'} after {Math.round(timeLimitMs / 1000)} s unless healed sooner.</p>}
          {unhealthy ? (
            <div role="alert" className="sev-warning">
              The cluster is not healthy: {p.problems.join('; ')}.{' '}
              <label><input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Inject anyway (force)</label>
            </div>
          ) : (
            <p className="muted" data-testid="cluster-healthy">Cluster healthy: no node down, no other fault active, every partition led.</p>
          )}
        </>
      )}
      {error !== null && <p role="alert" className="sev-critical">{error}</p>}
      <button type="button" disabled={busy || p === undefined || (unhealthy && !force)} onClick={() => void confirm()}>
        Confirm: {p?.description ?? 'fault'}
      </button>{' '}
      <button type="button" onClick={onDone}>Cancel</button>
    </section>
  );
}

export function ActiveFaults() {
  const q = useOperatorFaults();
  const now = useNow(500);
  const active = q.data?.active ?? [];
  const healed = (q.data?.recent ?? []).filter((f) => f.status === 'healed').slice(0, 8);
  return (
    <section className="panel" aria-label="Active faults">
      <h2>Active faults</h2>
      {q.isError && <p role="alert" className="state error">Could not load faults: {friendlyError(q.error)}</p>}
      {q.data === undefined && !q.isError && <p role="status" className="state loading">Loading…</p>}
      {q.data !== undefined && active.length === 0 && <p className="state empty" data-testid="no-active-faults">No fault injected from the console is active.</p>}
      <ul>
        {active.map((f) => <li key={f.id} data-testid="active-fault"><FaultLine fault={f} nowMs={now} /> <HealButton fault={f} /></li>)}
      </ul>
      {healed.length > 0 && (
        <>
          <h3>Recently healed</h3>
          <ul>
            {healed.map((f) => (
              <li key={f.id} data-testid="healed-fault">
                {f.description} — healed{f.healedBy !== null ? ` by ${f.healedBy}` : ''}{f.healedMs !== null ? ` at ${formatDateTime(f.healedMs)}` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

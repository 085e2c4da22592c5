// Guided failure drills: the list with each drill's last result, a guided view (a card per step:
// narrative, action button, the figure to watch, the check's status), Abort, and the report with
// JSON / Markdown export.
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { friendlyError, drillActions, drillKeys, useDrillRun, useDrills, type DrillListView, type DrillRunView } from '../api.ts';
import { formatDateTime } from '../format.ts';

type DrillInfo = DrillListView['drills'][number];

const ms = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(2)} s`);

const STATUS_TEXT: Record<string, string> = { pending: 'pending', acting: 'waiting', waiting: 'waiting', passing: 'passing', failed: 'failed', skipped: 'skipped' };

export default function DrillsPage() {
  const list = useDrills();
  const client = useQueryClient();
  // A run linked from elsewhere (the audit trail: ?page=drills&run=ID) opens directly.
  const [runId, setRunId] = useState<string | null>(() => new URLSearchParams(window.location.search).get('run'));
  const [error, setError] = useState<string | null>(null);
  const [refusedStart, setRefusedStart] = useState<{ name: string; mode: 'guided' | 'unattended' } | null>(null);
  const [busy, setBusy] = useState(false);
  const currentId = list.data?.current?.id ?? null;
  // Follow a run started elsewhere (another tab, the CLI) when nothing is selected.
  useEffect(() => {
    if (runId === null && currentId !== null) setRunId(currentId);
  }, [runId, currentId]);
  const run = useDrillRun(runId).data ?? null;
  // A run that ends changes the list's "last result" at once.
  useEffect(() => {
    void client.invalidateQueries({ queryKey: drillKeys.list() });
  }, [client, run?.status]);

  const act = async (fn: () => Promise<unknown>): Promise<unknown> => {
    setBusy(true);
    setError(null);
    try {
      const out = await fn();
      await client.invalidateQueries({ queryKey: drillKeys.list() });
      await client.invalidateQueries({ queryKey: drillKeys.run(runId) });
      return out;
    } catch (e) {
      setError(friendlyError(e));
      return null;
    } finally {
      setBusy(false);
    }
  };
  const start = async (name: string, mode: 'guided' | 'unattended', force = false) => {
    setRefusedStart(null);
    const out = (await act(() => drillActions.start(name, mode, force))) as { id: string } | null;
    if (out !== null) setRunId(out.id);
    else if (!force) setRefusedStart({ name, mode });
  };

  const drills = list.data?.drills ?? [];
  const def = run === null ? undefined : drills.find((d) => d.name === run.drill);
  const running = currentId !== null;

  return (
    <div className="drills">
      <section className="panel" aria-label="Drills">
        <h2>Drills</h2>
        <p className="muted">
          Each drill injects one failure through the fault surface and checks the cluster behaves: steps with a narrative,
          an action, the chart to watch and a check with a deadline. Running one needs the operator token; every action is
          audited, and abort (or server shutdown) heals every fault the drill injected. One drill at a time.
        </p>
        {list.isError && <p role="alert">Could not load drills: {friendlyError(list.error)}</p>}
        {list.data !== undefined && !list.data.available && <p role="alert">Drills need the embedded cluster; this server is attached to one run elsewhere.</p>}
        {error !== null && (
          <p role="alert" className="sev-critical">
            {error}
            {refusedStart !== null && /not healthy/.test(error) && (
              <> <button type="button" disabled={busy || running} onClick={() => void start(refusedStart.name, refusedStart.mode, true)}>Start anyway (force)</button></>
            )}
          </p>
        )}
        <table>
          <thead>
            <tr><th>Drill</th><th>What it does</th><th>Last result</th><th>Run</th></tr>
          </thead>
          <tbody>
            {drills.map((d) => (
              <tr key={d.name} data-testid={`drill-${d.name}`}>
                <th scope="row">{d.title}</th>
                <td>{d.summary}</td>
                <td><LastResult d={d} onOpen={setRunId} /></td>
                <td>
                  <button type="button" disabled={busy || running} onClick={() => void start(d.name, 'guided')} aria-label={`Start guided: ${d.title}`}>Guided</button>{' '}
                  <button type="button" disabled={busy || running} onClick={() => void start(d.name, 'unattended')} aria-label={`Run unattended: ${d.title}`}>Unattended</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {run !== null && def !== undefined && <RunView run={run} def={def} busy={busy} act={act} />}
    </div>
  );
}

function LastResult({ d, onOpen }: { d: DrillInfo; onOpen: (id: string) => void }) {
  const r = d.lastRun;
  if (r === null) return <span className="muted">never run</span>;
  return (
    <span>
      <span className={r.status === 'passed' ? '' : r.status === 'running' ? 'sev-warning' : 'sev-critical'}>{r.status}</span>
      {r.recoverMs !== null && <> · {r.recoverLabel} {ms(r.recoverMs)}</>}
      {r.lost !== null && <> · {r.lost} lost</>} ·{' '}
      <button type="button" className="link" onClick={() => onOpen(r.id)} aria-label={`Open last run of ${d.title}`}>{formatDateTime(r.startedMs)}</button>
    </span>
  );
}

function RunView({ run, def, busy, act }: { run: DrillRunView; def: DrillInfo; busy: boolean; act: (fn: () => Promise<unknown>) => Promise<unknown> }) {
  const running = run.status === 'running';
  const checking = run.steps.some((s) => s.status === 'waiting' || s.status === 'acting');
  return (
    <>
      <section className="panel" aria-label="Drill run">
        <div className="panel-head">
          <h2>{run.title} — {run.mode} run</h2>
          <span data-testid="drill-run-status">Status: {run.status}</span>
          {running && <button type="button" disabled={busy} onClick={() => void act(() => drillActions.abort())}>Abort</button>}
        </div>
        <p className="muted">
          Partition under test: {run.partition}
          {Object.entries(run.bindings).map(([k, v]) => ` · ${k}: node ${v}`).join('')}
        </p>
        {run.target !== undefined && <p data-testid="drill-target"><strong>Target:</strong> {run.target}.</p>}
        {running && run.mode === 'guided' && run.idleAbortMs != null && (
          <p className="muted">A guided run left waiting for its next step for {ms(run.idleAbortMs)} aborts itself and heals its faults.</p>
        )}
        <ol className="drill-steps" style={{ listStyle: 'none', padding: 0, display: 'grid', gap: 10 }}>
          {run.steps.map((s, i) => {
            const step = def.steps[i];
            if (step === undefined) return null;
            const canRun = running && run.mode === 'guided' && i === run.nextStep && !checking && !busy;
            const statusText = STATUS_TEXT[s.status] ?? s.status;
            return (
              <li key={i}>
                <article className="panel" aria-label={`Step ${i + 1}: ${step.title}`} data-testid={`step-${i + 1}`}>
                  <h3>{i + 1}. {step.title}</h3>
                  <p>{step.narrative}</p>
                  <p><strong>Watch:</strong> <a href={`?page=${step.chart}`} target="_blank" rel="noreferrer">the {step.chart} page</a> — {step.expect}</p>
                  <p><strong>Hypothesis:</strong> {step.hypothesis} (deadline {ms(step.deadlineMs)})</p>
                  {run.mode === 'guided' && (
                    <button type="button" disabled={!canRun} onClick={() => void act(() => drillActions.runStep(i))}>{step.buttonLabel}</button>
                  )}
                  {s.did !== null && <p className="muted">Did: {s.did}</p>}
                  <p data-testid={`step-${i + 1}-figure`}><strong>Live figure:</strong> {s.figure ?? '—'}</p>
                  <p data-testid={`step-${i + 1}-check`} className={s.status === 'failed' ? 'sev-critical' : s.status === 'passing' ? '' : 'sev-warning'}>
                    Check: {statusText}
                    {s.reason !== null && <> — {s.reason}</>}
                    {s.status === 'passing' && s.actionAtMs !== null && s.resolvedAtMs !== null && <> ({ms(s.resolvedAtMs - s.actionAtMs)})</>}
                  </p>
                </article>
              </li>
            );
          })}
        </ol>
      </section>
      {!running && <Report run={run} />}
    </>
  );
}

function Report({ run }: { run: DrillRunView }) {
  const [links, setLinks] = useState<{ json: string; md: string } | null>(null);
  useEffect(() => {
    let cancelled = false;
    const made: string[] = [];
    void (async () => {
      const [json, md] = await Promise.all([drillActions.report(run.id, 'json'), drillActions.report(run.id, 'markdown')]);
      if (cancelled || json === null || md === null) return;
      const j = URL.createObjectURL(new Blob([json.body], { type: json.mime }));
      const m = URL.createObjectURL(new Blob([md.body], { type: md.mime }));
      made.push(j, m);
      setLinks({ json: j, md: m });
    })().catch(() => undefined);
    return () => {
      cancelled = true;
      for (const u of made) URL.revokeObjectURL(u);
    };
  }, [run.id, run.status]);
  const v = run.verdict;
  const lat = (f: DrillRunView['latency']['before']) => (f === null || f.count === 0 ? '—' : `p99 ${f.p99Ms.toFixed(1)} ms · p99.9 ${f.p999Ms.toFixed(1)} ms`);
  return (
    <section className="panel" aria-label="Drill report">
      <h2>Report</h2>
      <p data-testid="drill-verdict" className={run.status === 'passed' ? '' : 'sev-critical'}>
        Verdict: {run.status} — {v === null ? 'durability not checked' : `${v.lost} lost, ${v.duplicated} duplicated, ${v.misplaced} misplaced of ${v.checked} acknowledged writes${(v.deletedByRetention ?? 0) > 0 ? ` (${v.deletedByRetention} deleted by retention before the read-back)` : ''}; ${v.staleReads ?? 0} stale of ${v.readsChecked ?? 0} reads of acknowledged offsets`}
      </p>
      <p>{run.outcome}</p>
      <div className="figures">
        <div className="figure"><div className="figure-label">Time to detect</div><div className="figure-value" data-testid="drill-detect">{ms(run.detectMs)}</div></div>
        <div className="figure"><div className="figure-label">Time to recover ({run.recoverLabel})</div><div className="figure-value" data-testid="drill-recover">{ms(run.recoverMs)}</div></div>
        <div className="figure"><div className="figure-label">Read failover (fault → first read answered)</div><div className="figure-value" data-testid="drill-read-recover">{ms(run.readRecoverMs ?? null)}</div></div>
        {run.operatorWaitMs != null && <div className="figure"><div className="figure-label">Operator wait between steps (not in the figures)</div><div className="figure-value" data-testid="drill-operator-wait">{ms(run.operatorWaitMs)}</div></div>}
        <div className="figure"><div className="figure-label">Client latency before</div><div>{lat(run.latency.before)}</div></div>
        <div className="figure"><div className="figure-label">Client latency during the fault</div><div>{lat(run.latency.during)}</div></div>
      </div>
      {v !== null && v.examples.length > 0 && <ul>{v.examples.map((e) => <li key={e}>{e}</li>)}</ul>}
      <p>
        Export:{' '}
        {links === null ? <span className="muted">preparing…</span> : (
          <>
            <a href={links.json} download={`drill-${run.id}.json`}>JSON report</a>{' · '}
            <a href={links.md} download={`drill-${run.id}.md`}>Markdown report</a>
          </>
        )}
      </p>
      <h3>Timeline</h3>
      <table>
        <thead><tr><th>t</th><th>Event</th></tr></thead>
        <tbody>
          {run.timeline.map((e, i) => (
            <tr key={i}><td>+{((e.tMs - run.startedMs) / 1000).toFixed(2)} s</td><td>{e.kind}: {e.text}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// A run's report as JSON and as Markdown.

import type { DrillRun, LatencyFigure } from './model.ts';

export function reportJson(run: DrillRun): string {
  return JSON.stringify(run, null, 2);
}

const ms = (v: number | null): string => (v === null ? '—' : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(2)} s`);
const lat = (f: LatencyFigure | null): string => (f === null || f.count === 0 ? '—' : `p99 ${f.p99Ms.toFixed(1)} ms, p99.9 ${f.p999Ms.toFixed(1)} ms (${f.count} appends)`);
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function reportMarkdown(run: DrillRun): string {
  const t0 = run.startedMs;
  const lines: string[] = [];
  lines.push(`# Drill report: ${run.title}`, '');
  lines.push(`- Run: \`${run.id}\` (${run.mode}), started ${new Date(run.startedMs).toISOString()}${run.endedMs !== null ? `, ended ${new Date(run.endedMs).toISOString()}` : ''}`);
  lines.push(`- Status: **${run.status}**${run.outcome ? ` — ${run.outcome}` : ''}`);
  lines.push(`- Partition under test: ${run.partition}; nodes: ${Object.entries(run.bindings).map(([k, v]) => `${k} = node ${v}`).join(', ') || '—'}`);
  lines.push(`- Time to detect: ${ms(run.detectMs)}`);
  lines.push(`- Time to recover (${run.recoverLabel}): ${ms(run.recoverMs)}`);
  lines.push(`- Read failover (fault → first read of partition ${run.partition} answered): ${ms(run.readRecoverMs ?? null)}`);
  lines.push(`- Client latency before the fault: ${lat(run.latency.before)}`);
  lines.push(`- Client latency during the fault: ${lat(run.latency.during)}`);
  lines.push(`- Steady-state client p99 before the run (median of per-second p99s): ${run.latency.steadyP99Ms === null ? '—' : `${run.latency.steadyP99Ms.toFixed(1)} ms`}`);
  const v = run.verdict;
  lines.push(v === null
    ? '- Durability: not checked'
    : `- Durability: ${v.checked} acknowledged writes checked — **${v.lost} lost**, ${v.duplicated} duplicated, ${v.misplaced} misplaced${(v.deletedByRetention ?? 0) > 0 ? `, ${v.deletedByRetention} deleted by retention before the read-back` : ''}${v.ledgerTruncated ? ' (ledger truncated)' : ''}\n- Consistency: ${v.readsChecked ?? 0} reads of acknowledged offsets during the drill — **${v.staleReads ?? 0} stale**`);
  for (const e of v?.examples ?? []) lines.push(`  - ${e}`);
  lines.push('', '## Steps', '', '| # | Step | Check | Took | Reason |', '|---|---|---|---|---|');
  for (const s of run.steps) {
    const took = s.actionAtMs !== null && s.resolvedAtMs !== null ? ms(s.resolvedAtMs - s.actionAtMs) : '—';
    lines.push(`| ${s.index + 1} | ${cell(s.title)}${s.did ? ` (${cell(s.did)})` : ''} | ${s.status} | ${took} | ${cell(s.reason ?? '')} |`);
  }
  lines.push('', '## Timeline', '', '| t | Event |', '|---|---|');
  for (const e of run.timeline) lines.push(`| +${((e.tMs - t0) / 1000).toFixed(2)} s | ${e.kind}: ${cell(e.text)} |`);
  return lines.join('\n') + '\n';
}

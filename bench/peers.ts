// Peer benchmark (issue 7): the same open-loop write workload against etcd (3 members),
// NATS JetStream (3 servers, R3 file stream), Logscope embedded and Logscope as 3 TCP node
// processes; and two references of what this machine allows: the temp dir's disk limit (fdatasync
// rate, sequential write+fdatasync) and the quorum floor (bench/peers/floor-node.ts).
// `npm run bench -- peers [--quick] [--seconds N] [--producers N] [--start-warmup S] [--systems etcd,nats,...] [--pacing tick|even]`
// Each system first gets S seconds (default 10) of the first fixed rate after it starts, measured
// apart: a node process's code is still being optimized then (the first point after a start had
// about twice the tail of later ones), and the points compare systems in their steady state.
// Writes bench/results/peers-<timestamp>.json and prints a Markdown table.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanupSync, findBinary, installCleanupHandlers, makeTempDir, removeTempDir, ResourceSampler, type ResourceUse } from './peers/procs.ts';
import { ALL_SYSTEMS, PARTITIONS, REPO_ROOT, startEtcd, startFloor, startLogscopeEmbedded, startLogscopeTcp, startNats, type NodeStalls, type RunningSystem, type SystemName } from './peers/systems.ts';
import { measureDiskLimit, type DiskLimit } from './disk-limit.ts';
import { hostStealMeter, stealCell, type HostSteal } from './machine.ts';
import { runPoint, type Pacing, type PointResult, type PointSpec } from './peers/workload.ts';
import { nonNegativeNumber, positiveInteger, positiveNumber } from './args.ts';
import type { LatencySummary } from './peers/workload.ts';

interface Settings {
  quick: boolean;
  seconds: number;
  warmupSeconds: number;
  /** Load right after a system starts, before its first point, measured apart (see the header). */
  startWarmupSeconds: number;
  producers: number;
  inflightPerProducer: number;
  recordSizes: number[];
  rates: (number | 'max')[];
  systems: SystemName[];
  diskSeconds: number;
  pacing: Pacing;
}

interface Row extends PointResult {
  system: SystemName;
  rate: number | 'max';
  server: ResourceUse;
  /** The load generator (this process); for logscope-embedded it is the same process as the server. */
  client: ResourceUse;
  /** CPU time the host took from this VM during the point (null off Linux; see machine.ts). */
  hostSteal: HostSteal | null;
  /** Logscope: each node's longest event-loop stall and fsync over the measured seconds (null for the peers). */
  nodeStalls: NodeStalls[] | null;
}

interface SystemInfo {
  system: SystemName;
  version: string;
  durability: string;
  error: string | null;
  /** The load right after the start (null with --start-warmup 0). */
  startWarmup: { recordBytes: number; rate: number; seconds: number; latency: LatencySummary; errors: number } | null;
}

function parseSettings(argv: readonly string[]): Settings {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== 'peers'),
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      producers: { type: 'string' },
      'start-warmup': { type: 'string' },
      systems: { type: 'string' },
      pacing: { type: 'string' },
    },
    allowPositionals: true,
  });
  const quick = values.quick ?? false;
  const seconds = values.seconds !== undefined ? positiveNumber('--seconds', values.seconds) : quick ? 3 : 7;
  const producers = values.producers !== undefined ? positiveInteger('--producers', values.producers) : 12;
  const systems = (values.systems?.split(',').map((s) => s.trim()).filter(Boolean) ?? [...ALL_SYSTEMS]) as SystemName[];
  for (const s of systems) if (!ALL_SYSTEMS.includes(s)) throw new Error(`unknown system ${s} (one of ${ALL_SYSTEMS.join(', ')})`);
  const pacing = values.pacing ?? 'tick';
  if (pacing !== 'tick' && pacing !== 'even') throw new Error(`--pacing must be tick or even (got ${pacing})`);
  return {
    quick,
    seconds,
    warmupSeconds: quick ? 1 : 2,
    startWarmupSeconds: values['start-warmup'] !== undefined ? nonNegativeNumber('--start-warmup', values['start-warmup']) : quick ? 2 : 10,
    producers,
    inflightPerProducer: 8,
    recordSizes: [100, 1024],
    rates: quick ? [1_000, 'max'] : [1_000, 4_000, 'max'],
    systems,
    diskSeconds: quick ? 1 : 2,
    pacing,
  };
}

/** Installs etcd-server / nats-server from Debian when missing (as root), else explains how. */
function ensureBinaries(systems: readonly SystemName[]): { etcd: string | null; nats: string | null } {
  const want: { pkg: string; bin: string }[] = [];
  if (systems.includes('etcd') && findBinary('etcd') === null) want.push({ pkg: 'etcd-server', bin: 'etcd' });
  if (systems.includes('nats') && findBinary('nats-server') === null) want.push({ pkg: 'nats-server', bin: 'nats-server' });
  if (want.length > 0) {
    const pkgs = want.map((w) => w.pkg);
    if (process.getuid?.() !== 0) {
      throw new Error(`missing ${want.map((w) => w.bin).join(' and ')}; install with: sudo apt-get update && sudo apt-get install -y ${pkgs.join(' ')} (Debian packages), then run again`);
    }
    console.log(`installing ${pkgs.join(', ')} with apt-get…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'inherit', env }) : update;
    if (install.status !== 0) throw new Error(`apt-get failed to install ${pkgs.join(' ')}; check \`apt-cache policy ${pkgs.join(' ')}\``);
  }
  const etcd = systems.includes('etcd') ? findBinary('etcd') : null;
  const nats = systems.includes('nats') ? findBinary('nats-server') : null;
  if (systems.includes('etcd') && etcd === null) throw new Error('etcd still not found on PATH after installing etcd-server');
  if (systems.includes('nats') && nats === null) throw new Error('nats-server still not found on PATH after installing nats-server');
  return { etcd, nats };
}

function versionOf(system: SystemName, binaries: { etcd: string | null; nats: string | null }): string {
  const first = (cmd: string, args: string[]): string => (spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '').split('\n')[0]?.trim() ?? '';
  const pkgVersion = (name: string): string => {
    try {
      return (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  if (system === 'etcd') return `${first(binaries.etcd ?? 'etcd', ['--version'])}; npm etcd3 ${pkgVersion('etcd3')}`;
  if (system === 'nats') return `${first(binaries.nats ?? 'nats-server', ['--version'])}; npm nats ${pkgVersion('nats')}`;
  if (system === 'floor') return `bench/peers/floor-node.ts, Node ${process.version}`;
  if (system === 'floor-2w') return `bench/peers/floor-node.ts --second-write, Node ${process.version}`;
  return `Logscope (this tree), Node ${process.version}`;
}

async function startSystem(system: SystemName, binaries: { etcd: string | null; nats: string | null }): Promise<RunningSystem> {
  if (system === 'etcd') return startEtcd(binaries.etcd ?? 'etcd');
  if (system === 'nats') return startNats(binaries.nats ?? 'nats-server');
  if (system === 'logscope-embedded') return startLogscopeEmbedded();
  if (system === 'floor') return startFloor();
  if (system === 'floor-2w') return startFloor(true);
  return startLogscopeTcp();
}

const f = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
/** The worst node's figure (NaN, printed '—', when no node has it). */
const worstOf = (stalls: readonly NodeStalls[], pick: (n: NodeStalls) => number | null): number => {
  const known = stalls.map(pick).filter((v): v is number => v !== null);
  return known.length === 0 ? Number.NaN : Math.max(...known);
};
/** The worst node's longest loop stall and longest fsync (each node's own maxima, the worst of each). */
const stallCell = (stalls: readonly NodeStalls[] | null): string =>
  stalls === null ? '—' : `${f(worstOf(stalls, (n) => n.loopMaxMs), 1)} / ${f(worstOf(stalls, (n) => n.fsyncMaxMs), 1)}`;
/** The highest of the nodes' flush p99s over the point. */
const flushP99Cell = (stalls: readonly NodeStalls[] | null): string => (stalls === null ? '—' : f(worstOf(stalls, (n) => n.fsyncP99Ms), 2));
const rateLabel = (r: number | 'max'): string => (r === 'max' ? 'max' : `${r}/s`);
type DiskResult = DiskLimit & { readonly dir: string };

const LABEL: Record<SystemName, string> = { etcd: 'etcd', nats: 'NATS JetStream', 'logscope-embedded': 'Logscope embedded', 'logscope-tcp': 'Logscope TCP', floor: 'Quorum floor (bare Node)', 'floor-2w': 'Quorum floor + 2nd durable write' };

/**
 * The server's CPU, context switches and read/write system calls per acknowledged record: its
 * rates over the point (warm-up included, at the same load) over the acknowledged rate. On a
 * machine whose cores the servers share, a wake-up costs more than the work it wakes for: the
 * wake-ups show where the CPU per record goes beyond the code itself.
 */
function perRecordCell(r: Row): string {
  if (r.ackedPerSec <= 0) return '—';
  const cell = (perSec: number | null, digits: number): string => {
    const value = perRecord(r, perSec);
    return value === null ? '—' : f(value, digits);
  };
  return `${cell(r.server.cpuPercent * 1e4, 0)} / ${cell(r.server.contextSwitchesPerSec, 2)} / ${cell(r.server.rwSyscallsPerSec, 2)}`;
}

/** A server rate per acknowledged record (null when the rate is unknown or nothing was acknowledged). */
function perRecord(r: Row, perSec: number | null): number | null {
  return perSec === null || r.ackedPerSec <= 0 ? null : perSec / r.ackedPerSec;
}

/** Context switches per acknowledged record, a over b ('—' when either is unknown). */
function csRatio(a: Row, b: Row): string {
  const x = perRecord(a, a.server.contextSwitchesPerSec);
  const y = perRecord(b, b.server.contextSwitchesPerSec);
  return x === null || y === null || y === 0 ? '—' : f(x / y, 2);
}

function markdown(settings: Settings, disk: DiskResult, rows: readonly Row[], infos: readonly SystemInfo[]): string {
  const out: string[] = [];
  out.push(`Disk of ${disk.dir}: ${f(disk.fdatasyncPerSec, 0)} fdatasync/s (4 KiB append + fdatasync; p50 ${f(disk.fdatasyncP50Ms, 2)} ms, p99 ${f(disk.fdatasyncP99Ms, 2)} ms, max ${f(disk.fdatasyncMaxMs, 2)} ms; CPU ${f(disk.durableWriteCpuMicros, 0)} µs per write + fdatasync, ${f(disk.plainWriteCpuMicros, 0)} µs per plain write); sequential 1 MiB write + fdatasync ${f(disk.syncedWriteMBps, 0)} MB/s`);
  out.push('');
  out.push(`${settings.producers} producers, ${settings.seconds} s measured per point after ${settings.warmupSeconds} s warm-up; each system's first point after ${settings.startWarmupSeconds} s of load right after its start (below the table); fixed rates open-loop (latency from the intended send time; ${settings.pacing === 'tick' ? 'the generator wakes each millisecond (`--pacing tick`), so a send leaves 0–1.07 ms after that time and sends go in bursts' : 'the generator wakes at each send\'s intended time (`--pacing even`: a worker thread on Atomics.wait), so sends are evenly spread, as from steady producers'}: *sent late*, the generator's own share of the latency, its p99 / max: a max latency near the max sent late is the bench process's own stall), max = ${settings.inflightPerProducer} writes in flight per producer (latency from the actual send). CPU in % of one core summed over the 3 server processes; RSS summed. Per record: the servers' CPU, context switches (every thread) and read/write system calls (/proc/PID/io) over the point, divided by its acknowledged records. Host steal: CPU time the hypervisor took from this VM during the point (/proc/stat), all CPUs summed. Logscope's nodes report their own longest event-loop stall and longest fsync over the point's measured seconds (their exact per-second windows; the worst node of each): a max latency far above both is neither a node's loop nor the disk. Their fsync p99 (the worst node's, over the same seconds) is what the shared disk gave that load: the floor under the point's p99.`);
  out.push('');
  out.push('| system | record | offered | acked rec/s | MB/s | p50 ms | p99 ms | p99.9 ms | max ms | sent late p99 / max ms | errors | server CPU % | server per record: CPU µs / context switches / r+w syscalls | server RSS MB | client CPU % | host steal total / worst 1 s ms | nodes\' longest loop stall / fsync ms | nodes\' fsync p99 ms |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const embedded = r.system === 'logscope-embedded';
    out.push(`| ${LABEL[r.system]} | ${r.recordBytes} B | ${rateLabel(r.rate)} | ${f(r.ackedPerSec, 0)} | ${f(r.mbPerSec, 2)} | ${f(r.latency.p50Ms, 2)} | ${f(r.latency.p99Ms, 2)} | ${f(r.latency.p999Ms, 2)} | ${f(r.latency.maxMs, 2)} | ${r.generatorLateness === null ? '—' : `${f(r.generatorLateness.p99Ms, 2)} / ${f(r.generatorLateness.maxMs, 1)}`} | ${r.errors + r.unfinished} | ${f(r.server.cpuPercent, 0)}${embedded ? '*' : ''} | ${perRecordCell(r)}${embedded ? '*' : ''} | ${f(r.server.rssMbMax, 0)}${embedded ? '*' : ''} | ${embedded ? '(incl.)' : f(r.client.cpuPercent, 0)} | ${stealCell(r.hostSteal)} | ${stallCell(r.nodeStalls)} | ${flushP99Cell(r.nodeStalls)} |`);
  }
  out.push('');
  out.push('\\* embedded: the whole bench process (cluster + load generator), from process.cpuUsage and RSS.');
  const warmed = infos.flatMap(({ system, startWarmup: w }) => (w === null ? [] : [`${LABEL[system]} ${w.recordBytes} B at ${w.rate}/s for ${w.seconds} s: p99 ${f(w.latency.p99Ms, 2)} ms, p99.9 ${f(w.latency.p999Ms, 2)} ms, max ${f(w.latency.maxMs, 2)} ms${w.errors > 0 ? `, ${w.errors} errors` : ''}`]));
  if (warmed.length > 0) {
    out.push('');
    out.push(`Right after start (the load before the first point, from the intended send time): ${warmed.join('; ')}.`);
  }
  const peers = (['etcd', 'nats', 'floor', 'floor-2w'] as const).filter((p) => rows.some((r) => r.system === p));
  const ours = (['logscope-embedded', 'logscope-tcp'] as const).filter((p) => rows.some((r) => r.system === p));
  if (peers.length > 0 && ours.length > 0) {
    out.push('');
    out.push('Ratios Logscope / peer at the same point (throughput: >1 is better for Logscope; p99 and CPU: <1 is better for Logscope).');
    out.push('');
    out.push('| Logscope | vs | record | offered | throughput × | p99 × | p99.9 × | server CPU × | context switches per record × |');
    out.push('|---|---|---|---|---|---|---|---|---|');
    for (const o of ours) for (const p of peers) for (const size of settings.recordSizes) for (const rate of settings.rates) {
      const a = rows.find((r) => r.system === o && r.recordBytes === size && r.rate === rate);
      const b = rows.find((r) => r.system === p && r.recordBytes === size && r.rate === rate);
      if (a === undefined || b === undefined) continue;
      out.push(`| ${LABEL[o]} | ${LABEL[p]} | ${size} B | ${rateLabel(rate)} | ${f(a.ackedPerSec / b.ackedPerSec, 2)} | ${f(a.latency.p99Ms / b.latency.p99Ms, 2)} | ${f(a.latency.p999Ms / b.latency.p999Ms, 2)} | ${f(a.server.cpuPercent / b.server.cpuPercent, 2)} | ${csRatio(a, b)} |`);
    }
  }
  out.push('');
  out.push('Durability as configured:');
  for (const i of infos) out.push(`- ${LABEL[i.system]} (${i.version}): ${i.durability}${i.error !== null ? ` — FAILED: ${i.error}` : ''}`);
  return out.join('\n');
}

export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const settings = parseSettings(argv);
  installCleanupHandlers();
  const binaries = ensureBinaries(settings.systems);
  const cpu = cpus();
  const startedAt = new Date();
  console.log(`peers bench — ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; systems ${settings.systems.join(', ')}; ${settings.seconds} s per point`);

  const diskDir = makeTempDir('logscope-peers-disk-');
  let disk: DiskResult;
  try {
    disk = { dir: tmpdir(), ...measureDiskLimit(diskDir, settings.diskSeconds) };
  } finally {
    removeTempDir(diskDir);
  }
  console.log(`disk: ${f(disk.fdatasyncPerSec, 0)} fdatasync/s (p99 ${f(disk.fdatasyncP99Ms, 2)} ms), sequential write+fdatasync ${f(disk.syncedWriteMBps, 0)} MB/s`);

  const rows: Row[] = [];
  const infos: SystemInfo[] = [];
  try {
    for (const system of settings.systems) {
      const info: SystemInfo = { system, version: versionOf(system, binaries), durability: '', error: null, startWarmup: null };
      infos.push(info);
      let running: RunningSystem | null = null;
      try {
        console.log(`starting ${LABEL[system]}…`);
        running = await startSystem(system, binaries);
        info.durability = running.durability;
        const warmRate = settings.rates.find((r): r is number => r !== 'max');
        const warmBytes = settings.recordSizes[0];
        if (settings.startWarmupSeconds > 0 && warmRate !== undefined && warmBytes !== undefined) {
          const warm = await runPoint(running.target, { recordBytes: warmBytes, producers: settings.producers, rate: warmRate, seconds: settings.startWarmupSeconds, warmupSeconds: 0, inflightPerProducer: settings.inflightPerProducer, outstandingMax: 50_000, drainTimeoutMs: 15_000, pacing: settings.pacing });
          info.startWarmup = { recordBytes: warmBytes, rate: warmRate, seconds: settings.startWarmupSeconds, latency: warm.latency, errors: warm.errors + warm.unfinished };
          console.log(`  ${LABEL[system]} right after start, ${warmBytes} B ${rateLabel(warmRate)} for ${settings.startWarmupSeconds} s (not a point): p99 ${f(warm.latency.p99Ms, 2)} ms, max ${f(warm.latency.maxMs, 1)} ms, errors ${warm.errors + warm.unfinished}`);
        }
        for (const recordBytes of settings.recordSizes) for (const rate of settings.rates) {
          const spec: PointSpec = {
            recordBytes,
            producers: settings.producers,
            rate,
            seconds: settings.seconds,
            warmupSeconds: settings.warmupSeconds,
            inflightPerProducer: settings.inflightPerProducer,
            outstandingMax: 50_000,
            drainTimeoutMs: 15_000,
            pacing: settings.pacing,
          };
          const server = new ResourceSampler(running.pids);
          const client = new ResourceSampler('self');
          server.start();
          client.start();
          const steal = hostStealMeter();
          const measuredFromMs = Date.now() + spec.warmupSeconds * 1000;
          const result = await runPoint(running.target, spec);
          const measuredToMs = measuredFromMs + spec.seconds * 1000;
          const resources = { server: server.stop(), client: client.stop(), hostSteal: steal() };
          let nodeStalls: NodeStalls[] | null = null;
          if (running.nodeStalls !== undefined) {
            await new Promise((resolve) => setTimeout(resolve, 1_100)); // the nodes close their last window of the point
            nodeStalls = await running.nodeStalls(measuredFromMs, measuredToMs);
          }
          const row: Row = { ...result, system, rate, ...resources, nodeStalls };
          rows.push(row);
          console.log(`  ${LABEL[system]} ${recordBytes} B ${rateLabel(rate)}: ${f(row.ackedPerSec, 0)} rec/s, p50 ${f(row.latency.p50Ms, 2)} ms, p99 ${f(row.latency.p99Ms, 2)} ms, max ${f(row.latency.maxMs, 1)} ms${row.generatorLateness === null ? '' : `, sent late p99 ${f(row.generatorLateness.p99Ms, 2)} ms max ${f(row.generatorLateness.maxMs, 1)} ms`}, errors ${row.errors}${row.firstError !== null ? ` (${row.firstError})` : ''}, unfinished ${row.unfinished}; server per record: ${perRecordCell(row)} (CPU µs / context switches / r+w syscalls)${row.nodeStalls === null ? '' : `; longest loop stall / fsync, fsync p99 per node: ${row.nodeStalls.map((n) => `${n.node}: ${f(n.loopMaxMs ?? Number.NaN, 1)} / ${f(n.fsyncMaxMs ?? Number.NaN, 1)}, ${f(n.fsyncP99Ms ?? Number.NaN, 2)} ms`).join(', ')}`}`);
        }
      } catch (error) {
        info.error = error instanceof Error ? error.message : String(error);
        console.error(`${LABEL[system]} failed: ${info.error}`);
      } finally {
        await running?.stop();
      }
    }
  } finally {
    cleanupSync();
  }

  const table = markdown(settings, disk, rows, infos);
  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `peers-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({
    benchmark: 'peers',
    startedAt: startedAt.toISOString(),
    machine: { cpu: cpu[0]?.model ?? null, cores: cpu.length, memoryGb: totalmem() / 2 ** 30, kernel: release(), node: process.version, tmpdir: tmpdir() },
    settings: { ...settings, partitions: PARTITIONS },
    disk,
    systems: infos,
    rows,
    markdown: table,
  }, null, 2)}\n`);
  console.log(`\n${table}\n\nresults: ${file}`);
  if (infos.some((i) => i.error !== null)) process.exitCode = 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  run().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    cleanupSync();
    process.exit(1);
  });
}

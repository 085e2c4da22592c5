import { parseArgs } from 'node:util';
import { runSeeds } from './run-seeds.ts';
import { FAULT_KINDS, simulate, type FaultKind } from './simulator.ts';

const OPTIONS = {
  seeds: { type: 'string', default: '100' },
  from: { type: 'string', default: '1' },
  seed: { type: 'string' },
  jobs: { type: 'string' },
  verbose: { type: 'boolean', default: false },
  faults: { type: 'string' },
  trace: { type: 'boolean', default: false },
  watch: { type: 'string' },
  'retention-kib': { type: 'string' },
  nodes: { type: 'string' },
  'storage-faults': { type: 'boolean', default: false },
  'no-identifiers': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

const USAGE = `usage: npm run sim -- [--seeds N] [--from S] [--jobs J] [--nodes N] [--faults KIND,…] [--retention-kib K] [--storage-faults [--no-identifiers]] [--verbose]
       npm run sim -- --seed S [same options] [--trace] [--watch P]   replays one seed; --watch prints
                                                  each change of partition P's replicas
fault kinds: ${FAULT_KINDS.join(', ')} (a kind twice is picked twice as often)`;

const parsed = (() => {
  try {
    return parseArgs({ options: OPTIONS });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exit(2);
  }
})();
const { values } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const toInt = (name: string, text: string): number => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a non-negative integer (got ${JSON.stringify(text)})`);
    process.exit(2);
  }
  return value;
};

const faultKinds = (text: string): FaultKind[] => {
  const kinds = text.split(',');
  const unknown = kinds.filter((kind) => !(FAULT_KINDS as readonly string[]).includes(kind));
  if (unknown.length > 0) {
    console.error(`--faults: unknown fault kind ${unknown.map((kind) => JSON.stringify(kind)).join(', ')}\n${USAGE}`);
    process.exit(2);
  }
  return kinds as FaultKind[];
};

const faultOption = {
  ...(values.faults !== undefined ? { faults: faultKinds(values.faults) } : {}),
  ...(values['retention-kib'] !== undefined ? { retentionBytes: toInt('retention-kib', values['retention-kib']) * 1024 } : {}),
  // Without --nodes, each seed picks 3, 5 or 7 nodes (seed % 3).
  ...(values.nodes !== undefined ? { nodeCount: toInt('nodes', values.nodes) } : {}),
  ...(values['storage-faults'] ? { storageFaults: true } : {}),
  ...(values['no-identifiers'] ? { identifiers: false } : {}),
};

if (values.seed !== undefined) {
  const result = await simulate(toInt('seed', values.seed), { ...faultOption, trace: values.trace, watchPartition: values.watch === undefined ? null : toInt('watch', values.watch) });
  console.log(JSON.stringify({ ...result, violations: result.violations.length }, null, 2));
  for (const violation of result.violations) console.log(`  violation: ${violation}`);
  process.exit(result.violations.length > 0 ? 1 : 0);
}

const summary = await runSeeds(toInt('from', values.from), toInt('seeds', values.seeds), {
  ...(values.jobs !== undefined ? { jobs: toInt('jobs', values.jobs) } : {}),
  sim: faultOption,
  onResult: (result) => {
    if (values.verbose) console.log(`seed ${result.seed}: faults ${result.faultsInjected} acked ${result.acked} violations ${result.violations.length}`);
  },
});
const violations = summary.failures.reduce((sum, r) => sum + r.violations.length, 0);
const seedsPerMinute = (summary.seedsRun / summary.elapsedMs) * 60_000;
console.log(`simulator: ${summary.seedsRun} seeds run, ${summary.faultsInjected} faults injected, ${summary.ackedChecked} acked records checked${summary.deletedByRetention > 0 ? ` (${summary.deletedByRetention} more deleted by retention)` : ''}${summary.rotted > 0 ? `, ${summary.rotted} bytes rotted under running nodes (${summary.corruptReadsCaught} caught before a restart, ${summary.corruptScrubsCaught} of them by the scrub)` : ''}${summary.rolledBack > 0 ? `, ${summary.rolledBack} disks rolled back` : ''}${summary.rollbacksFound > 0 ? `, ${summary.rollbacksFound} times a node was told its disk went back` : ''}, ${violations} violations (${seedsPerMinute.toFixed(0)} seeds/min)`);
for (const failure of summary.failures) {
  const replayFlags = `${values.nodes !== undefined ? ` --nodes ${values.nodes}` : ''}${values['storage-faults'] ? ' --storage-faults' : ''}${values['no-identifiers'] ? ' --no-identifiers' : ''}${values['retention-kib'] !== undefined ? ` --retention-kib ${values['retention-kib']}` : ''}${values.faults !== undefined ? ` --faults ${values.faults}` : ''}`;
  console.log(`FAILED seed ${failure.seed} (replay: npm run sim -- --seed ${failure.seed}${replayFlags})`);
  for (const violation of failure.violations.slice(0, 10)) console.log(`  ${violation}`);
}
process.exit(violations > 0 ? 1 : 0);

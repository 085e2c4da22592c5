// `npm run bench -- <name> [args]`: runs bench/<name>.ts's run(args). Benchmarks print medians and
// percentiles with the machine's specifics; they are never timed assertions.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeProcessV8Flags, relaunchWithV8Flags } from '../apps/server/src/cluster/node-v8-flags.ts';

const here = dirname(fileURLToPath(import.meta.url));
// A bench is a module of bench/ that exports run(); the others (disk-limit, open-loop, …) are its parts.
const available = readdirSync(here)
  .filter((name) => name.endsWith('.ts') && name !== 'run.ts' && !name.endsWith('.test.ts'))
  .filter((name) => /^export async function run\(/m.test(readFileSync(join(here, name), 'utf8')))
  .map((name) => name.slice(0, -3))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [args]   (or: logscope bench <name> [args])`);
  process.exit(2);
}
// These host embedded clusters (3 nodes and more) in this process: they run with the V8 flags that
// `logscope up` gives such a process, so they measure what the product runs.
if (name === 'engine' || name === 'drills' || name === 'history-reads' || name === 'console-tail' || name === 'restart-tail') {
  const relaunched = relaunchWithV8Flags(nodeProcessV8Flags(3));
  if (relaunched !== null) process.exit(await relaunched);
}
const module = (await import(join(here, `${name}.ts`))) as { run?: (args: string[]) => Promise<void> };
if (typeof module.run !== 'function') {
  console.error(`bench/${name}.ts exports no run()`);
  process.exit(2);
}
await module.run(args);
process.exit(0);

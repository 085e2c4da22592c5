// `npm run bench -- <name> [args]`: runs bench/<name>.ts's run(args). Benchmarks print medians and
// percentiles with the machine's specifics; they are never timed assertions.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((name) => name.endsWith('.ts') && !['run.ts', 'machine.ts'].includes(name) && !name.endsWith('.test.ts'))
  .map((name) => name.slice(0, -3))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [args]`);
  process.exit(2);
}
const module = (await import(join(here, `${name}.ts`))) as { run?: (args: string[]) => Promise<void> };
if (typeof module.run !== 'function') {
  console.error(`bench/${name}.ts exports no run()`);
  process.exit(2);
}
await module.run(args);
process.exit(0);

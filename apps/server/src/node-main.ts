// `logscope node` without loading the console's modules: the supervisor starts (and restarts)
// node processes through this entry, so a restart waits on the engine's modules only.
import { run } from './node-command.ts';

run(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`logscope node: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

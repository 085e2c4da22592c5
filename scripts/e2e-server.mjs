#!/usr/bin/env node
// Starts `logscope up` for the Playwright suite on a fresh temporary data dir and a known token.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = process.argv[2] ?? '7171';
const dataDir = mkdtempSync(join(tmpdir(), 'logscope-e2e-'));
const child = spawn(
  process.execPath,
  ['--import', 'tsx', join(root, 'apps/server/src/cli.ts'), 'up', '--port', port, '--data-dir', dataDir],
  { cwd: root, stdio: 'inherit', env: {
    ...process.env,
    LOGSCOPE_OPERATOR_TOKEN: process.env.LOGSCOPE_OPERATOR_TOKEN ?? 'e2e-operator-token',
    // Short enough for the abandoned-drill spec to watch a guided run abort itself, longer than its 10 s deliberate pause.
    LOGSCOPE_DRILL_IDLE_ABORT_S: process.env.LOGSCOPE_DRILL_IDLE_ABORT_S ?? '20',
  } },
);
const stop = () => child.kill('SIGTERM');
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
child.on('exit', (code) => {
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(code ?? 0);
});

#!/usr/bin/env node
// For the Playwright project "attached": `logscope cluster up` (3 node processes) and then
// `logscope up --cluster` over them, on a fresh temporary data dir and a known token.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = process.argv[2] ?? '7172';
const dataDir = mkdtempSync(join(tmpdir(), 'logscope-e2e-attached-'));
const cli = (args, stdio) => spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/server/src/cli.ts'), ...args], {
  cwd: root, stdio, env: { ...process.env, LOGSCOPE_OPERATOR_TOKEN: process.env.LOGSCOPE_OPERATOR_TOKEN ?? 'e2e-operator-token' },
});

const supervisor = cli(['cluster', 'up', '--nodes', '3', '--partitions', '12', '--data-dir', join(dataDir, 'cluster')], ['ignore', 'pipe', 'inherit']);
let console_ = null;
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  // The console first (its shutdown heals a running drill's faults through the nodes), then the nodes.
  if (console_ !== null && console_.exitCode === null) {
    console_.once('exit', () => supervisor.kill('SIGTERM'));
    console_.kill('SIGTERM');
  } else supervisor.kill('SIGTERM');
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
supervisor.on('exit', (code) => {
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(stopping ? 0 : (code ?? 1));
});
let output = '';
supervisor.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  if (console_ !== null) return;
  output += chunk.toString();
  if (!output.includes('"cluster-ready"')) return;
  console_ = cli(['up', '--cluster', join(dataDir, 'cluster'), '--port', port, '--data-dir', join(dataDir, 'console')], 'inherit');
  console_.on('exit', (code) => {
    if (!stopping) {
      process.stderr.write(`logscope up --cluster exited with ${code}\n`);
      stop();
    }
  });
});

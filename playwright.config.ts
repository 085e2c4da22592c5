import { execFileSync } from 'node:child_process';
import { defineConfig } from '@playwright/test';

// Debian's chromium, never a downloaded browser (DESIGN.md "Browser tests").
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// A free port, chosen once in the main process; workers inherit it through the environment.
if (process.env.E2E_PORT === undefined) {
  process.env.E2E_PORT = execFileSync(process.execPath, ['-e', "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"], { encoding: 'utf8' }).trim();
}
const port = Number(process.env.E2E_PORT);
// The console attached to node processes (project "attached") listens on its own port.
if (process.env.E2E_ATTACHED_PORT === undefined) {
  process.env.E2E_ATTACHED_PORT = execFileSync(process.execPath, ['-e', "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"], { encoding: 'utf8' }).trim();
}
const attachedPort = Number(process.env.E2E_ATTACHED_PORT);
/**
 * How Playwright stops the web servers. Its default is SIGKILL, which skips the scripts' removal of
 * their data dirs: every run left 300-470 MB of segments in the temp dir (66 GB of them filled this
 * machine's disk).
 */
const STOP_GRACEFULLY = { signal: 'SIGTERM', timeout: 20_000 } as const;
/**
 * The drill specs the attached project runs against real processes (2 cores: not every drill twice):
 * a real SIGKILL and restart, link faults spread over the processes' admin APIs, a process that
 * exits on a rotted byte and is restarted by its supervisor, a disk copied and put back by the
 * supervisor, and abort.
 */
const ATTACHED_DRILLS = /leader failover|minority isolation|bit rot|older copy|abort mid-drill/;

export default defineConfig({
  testDir: 'test/e2e',
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
  projects: [
    { name: 'embedded', use: { baseURL: `http://127.0.0.1:${port}` } },
    // The same drill specs, unchanged, against `logscope up --cluster` over 3 `logscope node` processes.
    { name: 'attached', testDir: 'test/e2e/drills', grep: ATTACHED_DRILLS, use: { baseURL: `http://127.0.0.1:${attachedPort}` } },
  ],
  use: {
    screenshot: 'on',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: [
    {
      // The real app: embedded cluster, load, server and the built SPA, on its own data dir.
      command: `node scripts/e2e-server.mjs ${port}`,
      url: `http://127.0.0.1:${port}/healthz`,
      timeout: 120_000,
      reuseExistingServer: false,
      stdout: 'pipe',
      stderr: 'pipe',
      gracefulShutdown: STOP_GRACEFULLY,
    },
    {
      // Node processes under the supervisor, and the console attached to them.
      command: `node scripts/e2e-attached-server.mjs ${attachedPort}`,
      url: `http://127.0.0.1:${attachedPort}/healthz`,
      timeout: 180_000,
      reuseExistingServer: false,
      stdout: 'pipe',
      stderr: 'pipe',
      gracefulShutdown: STOP_GRACEFULLY,
    },
  ],
});

import { execFileSync } from 'node:child_process';
import { defineConfig } from '@playwright/test';

// Debian's chromium, never a downloaded browser (DESIGN.md "Browser tests").
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// A free port, chosen once in the main process; workers inherit it through the environment.
if (process.env.E2E_PORT === undefined) {
  process.env.E2E_PORT = execFileSync(process.execPath, ['-e', "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"], { encoding: 'utf8' }).trim();
}
const port = Number(process.env.E2E_PORT);

export default defineConfig({
  testDir: 'test/e2e',
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
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
  webServer: {
    // The real app: embedded cluster, load, server and the built SPA, on its own data dir.
    command: `node scripts/e2e-server.mjs ${port}`,
    url: `http://127.0.0.1:${port}/healthz`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});

#!/usr/bin/env node
// Makes a fresh clone runnable: installs npm dependencies, builds the SPA when its sources
// changed, and (with --browser) makes sure the Debian packages the tests start are there (chromium, prometheus, openssl).
// Plain .mjs on purpose: it must run before tsx or anything else is installed.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));

function run(command) {
  console.log(`[ensure] ${command}`);
  execSync(command, { cwd: root, stdio: 'inherit' });
}

function newestMtimeMs(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name === 'dist') continue;
    newest = Math.max(newest, newestMtimeMs(join(path, name)));
  }
  return newest;
}

// 1. Dependencies: npm ci when node_modules is missing or older than the lockfile.
const installedMarker = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installedMarker) || statSync(installedMarker).mtimeMs < statSync(join(root, 'package-lock.json')).mtimeMs) {
  run('npm ci --no-audit --no-fund');
}

// 2. The built SPA, served by `logscope up`: rebuild when any console source is newer.
if (args.has('--build')) {
  const consoleDir = join(root, 'apps', 'console');
  const builtIndex = join(consoleDir, 'dist', 'index.html');
  const sourcesMs = Math.max(
    newestMtimeMs(join(consoleDir, 'src')),
    newestMtimeMs(join(consoleDir, 'index.html')),
    newestMtimeMs(join(consoleDir, 'vite.config.ts')),
    newestMtimeMs(join(root, 'apps', 'server', 'src', 'routers')),
  );
  if (!existsSync(builtIndex) || statSync(builtIndex).mtimeMs < sourcesMs) {
    run('npm run build');
  }
}

// 3. Debian packages the tests start themselves: chromium for the browser tests (never a Playwright
//    browser download), prometheus + promtool for the Prometheus history test, openssl for mTLS.
if (args.has('--browser')) {
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const onPath = (command) => (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(`${dir}/${command}`));
  const missing = [];
  if (!existsSync(chromium)) missing.push('chromium');
  if (!onPath('prometheus') || !onPath('promtool')) missing.push('prometheus');
  if (!onPath('openssl')) missing.push('openssl');
  if (missing.length > 0) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!isRoot) {
      console.error(
        `[ensure] missing Debian packages the tests need: ${missing.join(', ')}. Install them with:\n` +
          `  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}\n` +
          `(or set CHROMIUM_PATH to a Chromium binary). Not skipping any test.`,
      );
      process.exit(1);
    }
    run('apt-get update -qq');
    run(`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')}`);
    if (!existsSync(chromium)) {
      console.error(`[ensure] installed chromium but ${chromium} is still missing; set CHROMIUM_PATH.`);
      process.exit(1);
    }
  }
}

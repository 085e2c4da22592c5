import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_BUNDLE_DIR, buildNodeBundle, nodeEntryArgs } from './node-entry.ts';

describe('the node entry bundle', () => {
  it('is named by its content, so a rebuild of the same sources is the same file', () => {
    const first = buildNodeBundle();
    expect(first.startsWith(NODE_BUNDLE_DIR)).toBe(true);
    expect(existsSync(first)).toBe(true);
    expect(buildNodeBundle()).toBe(first);
    expect(nodeEntryArgs()).toEqual(['--enable-source-maps', first]);
  });

  it('runs `logscope node` without tsx: a bad argument gets the command\'s own error', () => {
    const [flag, bundle] = nodeEntryArgs();
    let stderr = '';
    try {
      execFileSync(process.execPath, [flag!, bundle!, '--id', 'x'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    } catch (error) {
      stderr = String((error as { stderr: Buffer }).stderr);
    }
    expect(stderr).toContain('logscope node');
    expect(stderr).toMatch(/--id/);
    // It is a plain ES module: no loader hooks, nothing compiled at start.
    expect(readFileSync(bundle!, 'utf8')).not.toContain('from "tsx');
  });

  it('removes bundles of other sources a day old, and keeps younger ones', () => {
    mkdirSync(NODE_BUNDLE_DIR, { recursive: true });
    const old = join(NODE_BUNDLE_DIR, 'node-main-0000000000000000.mjs');
    const young = join(NODE_BUNDLE_DIR, 'node-main-1111111111111111.mjs');
    writeFileSync(old, '// an old build\n');
    writeFileSync(young, '// a build of an hour ago\n');
    const now = Date.now() / 1000;
    utimesSync(old, now - 2 * 86_400, now - 2 * 86_400);
    utimesSync(young, now - 3_600, now - 3_600);
    const current = buildNodeBundle();
    expect(existsSync(old)).toBe(false);
    expect(existsSync(young)).toBe(true);
    expect(existsSync(current)).toBe(true);
    utimesSync(young, now - 2 * 86_400, now - 2 * 86_400);
    buildNodeBundle();
    expect(existsSync(young)).toBe(false);
  });
});

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as clusterCommand } from './cluster/command.ts';
import { BACKGROUND_READS, parseBackgroundReads, run } from './node-command.ts';

describe('logscope node --background-reads', () => {
  it('takes each of the journal modes', () => {
    for (const mode of BACKGROUND_READS) expect(parseBackgroundReads(mode)).toBe(mode);
  });

  it('refuses anything else before the node starts, naming the flag and its choices', async () => {
    const args = ['--id', '1', '--peers', '1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3', '--background-reads', 'sometimes'];
    await expect(run(args)).rejects.toThrow(/--background-reads must be one of always, when-slow, never \(got "sometimes"\)/);
    expect(() => parseBackgroundReads('')).toThrow(/--background-reads/);
  });

  it('is checked by cluster up before any node process starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logscope-background-reads-'));
    try {
      const dataDir = join(dir, 'cluster');
      await expect(clusterCommand(['up', '--data-dir', dataDir, '--nodes', '3', '--background-reads', 'pool'])).rejects.toThrow(/--background-reads must be one of always, when-slow, never \(got "pool"\)/);
      expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

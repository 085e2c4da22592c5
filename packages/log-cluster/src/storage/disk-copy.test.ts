import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyDiskAside, diskCopyDirectory, putBackDiskCopy } from './disk-copy.ts';
import { SPARE_PREFIX } from './file-disk.ts';

describe('a copy of a node\'s disk, put back later', () => {
  let root = '';
  let dir = '';
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'logscope-disk-copy-'));
    dir = join(root, 'node-2');
    mkdirSync(dir);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('puts back the files as they were at the copy: later files gone, changed ones as before, spares left out', () => {
    writeFileSync(join(dir, 'seg-1.log'), 'old records');
    writeFileSync(join(dir, `${SPARE_PREFIX}seg-2.log`), 'zeros being filled');
    const copy = copyDiskAside(dir);
    expect(copy).toMatchObject({ files: 1, bytes: 'old records'.length });
    expect(diskCopyDirectory(dir)).toBe(join(root, 'node-2.copy'));
    writeFileSync(join(dir, 'seg-1.log'), 'old records and newer ones');
    writeFileSync(join(dir, 'seg-3.log'), 'a later segment');
    const back = putBackDiskCopy(dir);
    expect(back.files).toBe(1);
    expect(back.copiedAtMs).toBeGreaterThanOrEqual(copy.copiedAtMs - 1_000);
    expect(readdirSync(dir)).toEqual(['seg-1.log']);
    expect(readFileSync(join(dir, 'seg-1.log'), 'utf8')).toBe('old records');
  });

  it('a second copy replaces the first', () => {
    writeFileSync(join(dir, 'a'), '1');
    copyDiskAside(dir);
    rmSync(join(dir, 'a'));
    writeFileSync(join(dir, 'b'), '2');
    copyDiskAside(dir);
    putBackDiskCopy(dir);
    expect(readdirSync(dir)).toEqual(['b']);
  });

  it('refuses, and touches nothing, without a copy or without a disk', () => {
    writeFileSync(join(dir, 'seg-1.log'), 'records');
    expect(() => putBackDiskCopy(dir)).toThrow(/no copy of .*node-2 to put back: copy the node's disk first/);
    expect(readdirSync(dir)).toEqual(['seg-1.log']);
    expect(() => copyDiskAside(join(root, 'node-9'))).toThrow(/node-9 does not exist/);
  });
});

import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../packages/log-cluster/src/raft/types.ts';
import { FileDisk } from '../../packages/log-cluster/src/storage/file-disk.ts';
import { decodeIdentifiers, IDENTIFIER_BYTES, identifiersFileName } from '../../packages/log-cluster/src/storage/identifiers.ts';
import { Journal, type JournalOptions } from '../../packages/log-cluster/src/storage/journal.ts';
import { untilPreallocated } from '../../packages/log-cluster/src/storage/test-helpers.ts';
import { tryMountTmpfs, unmountTmpfs } from '../support/tmpfs.ts';

const SEGMENT_BYTES = 256 << 10;
const ENTRY_BYTES = 1000;
const OPTIONS: JournalOptions = { segmentBytes: SEGMENT_BYTES, retentionBytes: 1 << 30, retentionMs: 3600_000, now: () => 0, cacheBytes: 1 << 20 };
const PAGE_BYTES = 4096;
/**
 * Identifiers kept after the "crash": 78 × 52 = 4 056 bytes, so naming even one more record needs a
 * new page of the filesystem — which a full disk does not have.
 */
const KEPT_IDENTIFIERS = Math.floor(PAGE_BYTES / IDENTIFIER_BYTES);

function entry(index: number): Entry {
  return { index, term: 1, offset: index - 1, count: 1, data: Uint8Array.from({ length: ENTRY_BYTES }, (_, i) => (index * 7 + i) & 0xff) };
}

function flush(journal: Journal): Promise<void> {
  return new Promise((resolve, reject) => journal.flush((error) => (error === null ? resolve() : reject(error))));
}

/** Fills the filesystem of `directory` until a write of one page fails with ENOSPC. */
function fillDisk(directory: string): void {
  const fd = openSync(join(directory, 'filler'), 'w');
  const page = Buffer.alloc(PAGE_BYTES, 1);
  try {
    for (let at = 0; ; at += PAGE_BYTES) writeSync(fd, page, 0, PAGE_BYTES, at);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
}

describe('recovery on a real filesystem that is full', () => {
  const directory = mkdtempSync(join(tmpdir(), 'logscope-full-recovery-'));
  const mountError = tryMountTmpfs(directory, '4m');
  afterAll(() => {
    // Lazily: the first FileDisk keeps its zero-filled spares open (a node process's exit closes them).
    if (mountError === null) unmountTmpfs(directory, { lazy: true });
    rmSync(directory, { recursive: true, force: true });
  });

  it('names again the records a crash left without identifiers, using the zeros of their preallocated segment for room, and starts', async (ctx) => {
    if (mountError !== null) ctx.skip(`mounting a tmpfs needs root and mount(8); skipped: ${mountError}`);
    const disk = new FileDisk(directory);
    const { journal } = Journal.open(disk, OPTIONS);
    await untilPreallocated(disk, [SEGMENT_BYTES]);
    // One record per flush until the journal rolls into a zero-filled segment, then enough there
    // that its identifiers fill most of a page.
    let index = 0;
    const segments = (): string[] => readdirSync(directory).filter((name) => name.startsWith('seg-') && name.endsWith('.log')).sort();
    while (segments().length < 2) {
      journal.appendEntries(1, [entry(++index)]);
      await flush(journal);
    }
    const inSecond = KEPT_IDENTIFIERS + 4;
    for (let k = 1; k < inSecond; k++) {
      journal.appendEntries(1, [entry(++index)]);
      await flush(journal);
    }
    journal.close();
    const second = segments()[1]!;
    expect(statSync(join(directory, second)).size).toBe(SEGMENT_BYTES); // zero-filled ahead

    // The crash: the last flushes' records are durable, their identifiers are not. The identifier
    // file ends on the last kept identifier, as a file that was never preallocated would.
    const idsPath = join(directory, identifiersFileName(second));
    const { ids } = decodeIdentifiers(readFileSync(idsPath));
    expect(ids).toHaveLength(inSecond);
    writeFileSync(idsPath, readFileSync(idsPath).subarray(0, KEPT_IDENTIFIERS * IDENTIFIER_BYTES));
    for (const name of readdirSync(directory)) if (name.startsWith('preallocating-')) rmSync(join(directory, name));
    fillDisk(directory);

    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report).toMatchObject({ corruption: null, faulty: [], uncertain: false });
    expect(reopened.log(1).lastIndex()).toBe(index);
    expect(reopened.log(1).entries(index - 5, index + 1, 1 << 20)).toEqual([index - 5, index - 4, index - 3, index - 2, index - 1, index].map(entry));
    reopened.close();
    // Every record of the segment is named again, durably.
    expect(decodeIdentifiers(readFileSync(idsPath)).ids.map((id) => id.position)).toEqual(ids.map((id) => id.position));
  });
});

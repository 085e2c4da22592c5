// Operator token, roles and the audit trail.
//
// The trail is an append-only JSON-lines file in the data dir; each entry is written and
// fdatasync'ed before the mutation's answer goes out, so an answered mutation is on disk. Writes
// and syncs run in the thread pool, never on the server's event loop (which also runs the
// embedded cluster): entries queued while a sync runs go out together, in seq order.
// An index of line offsets (8 B per entry) lets audit.list page newest-first without
// reading the whole file.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { close, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, write } from 'node:fs';
import { join } from 'node:path';

export type Role = 'operator' | 'viewer';

export const AUDIT_FILE = 'audit.jsonl';
/** Inputs larger than this are stored truncated: the trail must stay readable. */
export const AUDIT_INPUT_CHARS_MAX = 2_000;
export const AUDIT_PAGE_MAX = 200;
/** Entries are read back in chunks of this size when the file is indexed. */
const READ_CHUNK_BYTES = 1 << 20;
const TOKEN_BYTES = 24;

export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Constant time over the SHA-256 digests: equal lengths, so length leaks nothing either. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** `authorization: Bearer <token>` → token; anything else → null. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export interface AuditEntry {
  /** 1-based position in the trail. */
  seq: number;
  timeMs: number;
  /** Who: the caller's role, or `system` for what the cluster did by itself (an automatic restart). */
  role: Role | 'system';
  action: string;
  input: unknown;
  outcome: 'ok' | 'refused' | 'error';
  message: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `before` for the next (older) page; null at the oldest entry. */
  nextCursor: number | null;
  total: number;
}

export class AuditTrail {
  private readonly fd: number;
  private size: number;
  /** Byte offset where each entry starts; the file ends at `size`. */
  private readonly offsets: number[] = [];
  private closed = false;
  /** Seq the next append gets (entries are numbered when appended, durable later, in order). */
  private nextSeq = 1;
  /** Lines waiting for the next write + fdatasync, and whether one is running. */
  private pending: { line: Buffer; entry: AuditEntry; resolve: (entry: AuditEntry) => void; reject: (error: Error) => void }[] = [];
  private writing = false;
  private closeWhenIdle = false;

  private constructor(readonly path: string) {
    this.fd = openSync(path, 'a+');
    this.size = fstatSync(this.fd).size;
    this.index();
    this.nextSeq = this.offsets.length + 1;
  }

  static open(dataDir: string): AuditTrail {
    return new AuditTrail(join(dataDir, AUDIT_FILE));
  }

  /** Builds the line index; a torn last line (crash mid-write, never acknowledged) is cut off. */
  private index(): void {
    const buffer = Buffer.alloc(READ_CHUNK_BYTES);
    let lineStart = 0;
    let position = 0;
    while (position < this.size) {
      const read = readSync(this.fd, buffer, 0, buffer.length, position);
      if (read === 0) break;
      for (let i = 0; i < read; i++) {
        if (buffer[i] === 0x0a) {
          this.offsets.push(lineStart);
          lineStart = position + i + 1;
        }
      }
      position += read;
    }
    if (lineStart < this.size) {
      ftruncateSync(this.fd, lineStart);
      fdatasyncSync(this.fd);
      this.size = lineStart;
    }
  }

  /** Resolves once the entry is durable; entries become durable (and listed) in seq order. */
  append(entry: Omit<AuditEntry, 'seq'>): Promise<AuditEntry> {
    if (this.closed || this.closeWhenIdle) return Promise.reject(new Error('audit trail is closed'));
    const full: AuditEntry = { seq: this.nextSeq++, ...entry, input: boundInput(entry.input) };
    const line = Buffer.from(JSON.stringify(full) + '\n', 'utf8');
    return new Promise((resolve, reject) => {
      this.pending.push({ line, entry: full, resolve, reject });
      this.writeBatch();
    });
  }

  /** One write of every queued line, then one fdatasync ('a' mode appends at the end whatever the position). */
  private writeBatch(): void {
    if (this.writing || this.closed) return;
    if (this.pending.length === 0) {
      if (this.closeWhenIdle) this.closeNow();
      return;
    }
    this.writing = true;
    const batch = this.pending;
    this.pending = [];
    const data = Buffer.concat(batch.map((p) => p.line));
    const fail = (error: Error): void => {
      this.writing = false;
      for (const p of batch) p.reject(error);
      // Later entries would leave a hole in seq: fail them too, and the trail with them.
      for (const p of this.pending.splice(0)) p.reject(error);
      this.closeWhenIdle = true;
      this.writeBatch();
    };
    const writeFrom = (offset: number): void => {
      write(this.fd, data, offset, data.length - offset, null, (writeError, n) => {
        if (writeError !== null) return fail(writeError);
        if (offset + n < data.length) return writeFrom(offset + n);
        fdatasync(this.fd, (syncError) => {
          if (syncError !== null) return fail(syncError);
          for (const p of batch) {
            this.offsets.push(this.size);
            this.size += p.line.length;
          }
          this.writing = false;
          for (const p of batch) p.resolve(p.entry);
          this.writeBatch();
        });
      });
    };
    writeFrom(0);
  }

  get total(): number {
    return this.offsets.length;
  }

  /** Newest first; `before` is a seq (exclusive). */
  list(before: number | undefined, limit: number): AuditPage {
    const count = Math.min(Math.max(1, limit), AUDIT_PAGE_MAX);
    const end = Math.min(before === undefined ? this.offsets.length : before - 1, this.offsets.length); // entries [0, end)
    const start = Math.max(0, end - count);
    const entries: AuditEntry[] = [];
    if (end > start) {
      const from = this.offsets[start] ?? 0;
      const to = this.offsets[end] ?? this.size;
      const buffer = Buffer.alloc(to - from);
      readSync(this.fd, buffer, 0, buffer.length, from);
      const lines = buffer.toString('utf8').split('\n');
      for (let i = 0; i < end - start; i++) {
        const line = lines[i] ?? '';
        try {
          entries.push(JSON.parse(line) as AuditEntry);
        } catch {
          entries.push({ seq: start + i + 1, timeMs: 0, role: 'viewer', action: 'unreadable', input: null, outcome: 'error', message: 'unreadable audit line' });
        }
      }
    }
    entries.reverse();
    return { entries, nextCursor: start > 0 ? start + 1 : null, total: this.offsets.length };
  }

  /** Stops taking entries; the file closes once the queued ones are durable. */
  close(): void {
    if (this.closed || this.closeWhenIdle) return;
    this.closeWhenIdle = true;
    this.writeBatch();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.fd, () => undefined);
  }
}

function boundInput(input: unknown): unknown {
  let text: string;
  try {
    text = JSON.stringify(input) ?? 'null';
  } catch {
    return '[unserializable input]';
  }
  if (text.length <= AUDIT_INPUT_CHARS_MAX) return input === undefined ? null : (JSON.parse(text) as unknown);
  return { truncated: text.slice(0, AUDIT_INPUT_CHARS_MAX) };
}

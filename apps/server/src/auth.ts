// Operator token, roles and the audit trail.
//
// The trail is an append-only JSON-lines file in the data dir; each entry is written and
// fdatasync'ed before the mutation's answer goes out, so an answered mutation is on disk.
// An index of line offsets (8 B per entry) lets audit.list page newest-first without
// reading the whole file.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
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
  role: Role;
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

  private constructor(readonly path: string) {
    this.fd = openSync(path, 'a+');
    this.size = fstatSync(this.fd).size;
    this.index();
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

  append(entry: Omit<AuditEntry, 'seq'>): AuditEntry {
    if (this.closed) throw new Error('audit trail is closed');
    const full: AuditEntry = { seq: this.offsets.length + 1, ...entry, input: boundInput(entry.input) };
    const line = Buffer.from(JSON.stringify(full) + '\n', 'utf8');
    // 'a' mode appends at the end whatever the position; write all bytes then make them durable.
    let written = 0;
    while (written < line.length) written += writeSync(this.fd, line, written, line.length - written);
    fdatasyncSync(this.fd);
    this.offsets.push(this.size);
    this.size += line.length;
    return full;
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
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

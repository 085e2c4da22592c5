import { mkdtempSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrail, AUDIT_FILE, tokenMatches } from './auth.ts';
import { startHarness, type Harness } from './test-helpers.ts';

describe('operator auth and the audit trail', () => {
  let h: Harness;
  const latest = async () => (await h.caller().audit.list({ limit: 1 })).entries[0];

  beforeAll(async () => {
    h = await startHarness({ partitionCount: 3, load: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('viewers read; a mutation without a token is refused and audited', async () => {
    await expect(h.caller().cluster.overview()).resolves.toMatchObject({ mode: 'embedded' });
    await expect(h.caller().faults.slowFsync({ node: 1, delayMs: 5 })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await latest()).toMatchObject({ role: 'viewer', action: 'mutation:faults.slowFsync', input: { node: 1, delayMs: 5 }, outcome: 'refused' });
    expect(h.cluster.activeFaults()).toEqual([]);
  });

  it('a wrong token is refused and audited, and the token never appears in the trail', async () => {
    await expect(h.caller({ authorization: 'Bearer not-the-token' }).load.stop()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await latest()).toMatchObject({ role: 'viewer', action: 'mutation:load.stop', outcome: 'refused', message: expect.stringMatching(/invalid operator token/) });
    expect(readFileSync(join(h.dataDir, AUDIT_FILE), 'utf8')).not.toContain(h.app.operatorToken);
  });

  it('the operator mutates; outcomes ok and error are both audited', async () => {
    await h.operator().faults.slowFsync({ node: 2, delayMs: 3 });
    expect(await latest()).toMatchObject({ role: 'operator', action: 'mutation:faults.slowFsync', outcome: 'ok', message: null });
    expect(h.cluster.activeFaults()).toContainEqual({ kind: 'slowFsync', node: 2, delayMs: 3 });
    await expect(h.operator().faults.crash({ node: 42 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await latest()).toMatchObject({ role: 'operator', outcome: 'error', message: expect.stringMatching(/node 42/) });
    await expect(h.operator().faults.pause({ node: 1, durationMs: 0 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await latest()).toMatchObject({ outcome: 'error', message: expect.stringMatching(/durationMs/) });
    await h.operator().faults.healAll();
  });

  it('refuses cross-origin mutations even with the token', async () => {
    const evil = h.caller({ authorization: `Bearer ${h.app.operatorToken}`, origin: 'http://evil.example' });
    await expect(evil.faults.healAll()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await latest()).toMatchObject({ outcome: 'refused', message: expect.stringMatching(/evil\.example/) });
    await expect(h.caller({ authorization: `Bearer ${h.app.operatorToken}`, origin: h.app.url }).faults.healAll()).resolves.toBeDefined();
  });

  it('refuses cross-origin and tokenless mutations over real HTTP too', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${h.app.url}/trpc/faults.healAll`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: `Bearer ${h.app.operatorToken}`, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ authorization: `Bearer ${h.app.operatorToken}` })).status).toBe(200);
    expect((await fetch(`${h.app.url}/healthz`)).status).toBe(200);
  });

  it('pages newest first', async () => {
    const first = await h.caller().audit.list({ limit: 2 });
    expect(first.entries).toHaveLength(2);
    expect(first.entries[0]!.seq).toBeGreaterThan(first.entries[1]!.seq);
    const next = await h.caller().audit.list({ limit: 2, before: first.nextCursor! });
    expect(next.entries[0]!.seq).toBe(first.entries[1]!.seq - 1);
    expect(first.total).toBe(next.total);
  });
});

describe('AuditTrail on disk', () => {
  it('survives a restart, and a torn last line is cut off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logscope-audit-'));
    try {
      const a = AuditTrail.open(dir);
      for (let i = 0; i < 5; i++) await a.append({ timeMs: i, role: 'operator', action: `mutation:x${i}`, input: { i }, outcome: 'ok', message: null });
      a.close();
      appendFileSync(join(dir, AUDIT_FILE), '{"seq":6,"timeMs":'); // crash mid-write
      const b = AuditTrail.open(dir);
      expect(b.total).toBe(5);
      expect(b.list(undefined, 10).entries.map((e) => e.action)).toEqual(['mutation:x4', 'mutation:x3', 'mutation:x2', 'mutation:x1', 'mutation:x0']);
      await b.append({ timeMs: 9, role: 'viewer', action: 'mutation:y', input: null, outcome: 'refused', message: 'no' });
      b.close();
      const c = AuditTrail.open(dir);
      expect(c.list(undefined, 1).entries[0]).toMatchObject({ seq: 6, action: 'mutation:y', outcome: 'refused' });
      c.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('appends issued together become durable in seq order, each answered once on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logscope-audit-'));
    try {
      const a = AuditTrail.open(dir);
      const written = await Promise.all(
        Array.from({ length: 20 }, (_, i) => a.append({ timeMs: i, role: 'operator', action: `mutation:z${i}`, input: { i }, outcome: 'ok', message: null })),
      );
      expect(written.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      // Answered means on disk: a second reader of the file sees every answered entry, in order.
      const b = AuditTrail.open(dir);
      expect(b.list(undefined, 20).entries.map((e) => e.action).reverse()).toEqual(written.map((e) => e.action));
      a.close();
      b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compares tokens by digest', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abcd')).toBe(false);
  });
});

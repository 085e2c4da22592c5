// An embedded node's restart recovers its journal a slice at a time on the loop the other nodes
// share: they keep serving meanwhile, the node is down until it ends, and a crash during it stops it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from './cluster.ts';

let cluster: EmbeddedCluster | null = null;
let directory = '';
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
  fs.rmSync(directory, { recursive: true, force: true });
});

const RECORD = new Uint8Array(1024).fill(7);

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const shortSleep = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

/** Waits for `condition` up to `timeoutMs`, checking it after each `wait` (a loop turn: a paced recovery runs one slice per turn). */
async function until(condition: () => boolean, timeoutMs: number, wait = shortSleep): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await wait();
  return condition();
}

describe('embedded restart', () => {
  it('serves the other nodes while one recovers, keeps it down until then, and a crash during it stops it', async () => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'logscope-embedded-restart-'));
    const c = (cluster = await EmbeddedCluster.start({ dataDir: directory, nodeCount: 3, partitionCount: 2 }));
    expect(await c.waitForLeaders(20_000)).toBe(true);
    const client = c.client();
    // ~16 MiB on each node: a recovery of many slices.
    const acked: { partition: number; offset: number }[] = [];
    for (let round = 0; round < 200; round++) {
      const results = await Promise.all([0, 1].map((partition) => client.append({ partition }, Array.from({ length: 40 }, () => RECORD))));
      for (const result of results) acked.push({ partition: result.partition, offset: result.baseOffset });
    }
    await c.crash(2);

    // Restarted: down, and saying why, while its recovery runs; the others answer appends meanwhile.
    const first = c.restart(2);
    expect(await until(() => c.health().find((h) => h.node === 2)?.reason === 'starting: recovering its journal', 10_000, nextTurn)).toBe(true);
    let servedMeanwhile = 0;
    const appendsMeanwhile = (async () => {
      while (c.node(2) === null && servedMeanwhile < 1_000) {
        await client.append({ partition: 0 }, [RECORD]);
        servedMeanwhile++;
      }
    })();
    // A crash while it recovers: the recovery stops, the node stays down, the crash is a fault.
    await c.crash(2);
    await first;
    await appendsMeanwhile;
    expect(c.node(2)).toBeNull();
    expect(c.health().find((h) => h.node === 2)).toMatchObject({ up: false, reason: 'crashed' });
    expect(c.activeFaults()).toContainEqual({ kind: 'crash', node: 2 });
    expect(servedMeanwhile).toBeGreaterThan(0);

    // Restarted again, it comes up, the fault is gone, and what was acknowledged reads back from it.
    await c.restart(2);
    expect(c.node(2)?.isRunning).toBe(true);
    expect(c.activeFaults()).not.toContainEqual({ kind: 'crash', node: 2 });
    for (const partition of [0, 1]) {
      c.transferLeadership(partition, 2);
      expect(await until(() => c.leaderOf(partition) === 2, 10_000)).toBe(true);
    }
    const fresh = c.client();
    for (const { partition, offset } of acked.filter((_, k) => k % 37 === 0)) {
      const read = await fresh.read(partition, offset, 1);
      expect(read.records[0]?.offset).toBe(offset);
      expect(read.records[0]?.value).toEqual(RECORD);
    }
  });
});

import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LogClient } from '../../packages/log-cluster/src/client.ts';
import { realScheduler } from '../../packages/log-cluster/src/clock.ts';
import { TcpConnector } from '../../packages/log-cluster/src/transport/tcp.ts';
import { NodeProcessCluster } from '../support/node-cluster.ts';
import { sleep } from '../support/until.ts';

const PARTITIONS = 1;
/** Bytes cut from the follower's newest segment: many fsynced, acknowledged records. */
const CUT_BYTES = 8192;

function newestSegment(directory: string): string {
  const segments = readdirSync(directory).filter((name) => name.startsWith('seg-') && name.endsWith('.log')).sort();
  const newest = segments[segments.length - 1];
  if (newest === undefined) throw new Error(`no segment in ${directory}`);
  return join(directory, newest);
}

/**
 * Four producers write to a 3-node cluster; the third replica stops, so the newest acknowledged
 * records live on the leader and one follower only. The follower stops and `damage` is done to its
 * data directory; it restarts, then the leader dies: the follower and the third replica alone must
 * not elect a leader that lacks what the follower had acknowledged. The leader comes back a little
 * later, and a fresh client must read every acknowledged record back at its offset.
 */
async function followerDamagedThenLeaderKilled(dataDir: string, started: (nodes: NodeProcessCluster) => void, damage: (followerDir: string) => void): Promise<void> {
  const nodes = await NodeProcessCluster.start(dataDir, { partitionCount: PARTITIONS });
  started(nodes);
  const connector = new TcpConnector(nodes.peers);
  const client = new LogClient(connector, realScheduler, { appendTimeoutMs: 2_000 });
  const acked: { offset: number; value: string }[] = [];
  let running = true;
  let n = 0;
  const producer = async (): Promise<void> => {
    while (running) {
      const value = `record-${n++}`;
      try {
        const result = await client.append({ partition: 0 }, [new TextEncoder().encode(value)]);
        acked.push({ offset: result.baseOffset, value });
      } catch {
        await sleep(20); // not acknowledged: allowed to be missing
      }
    }
  };
  const producers = Array.from({ length: 4 }, () => producer());
  while (acked.length < 200) await sleep(50);
  const leader = client.leaderOf(0);
  expect(leader).toBeGreaterThan(0);
  const [follower, third] = [...nodes.peers.keys()].filter((id) => id !== leader) as [number, number];

  // The third replica stops: from now on the newest acknowledged records live on the leader and the follower only.
  nodes.kill(third);
  const ackedWithTwo = acked.length;
  while (acked.length < ackedWithTwo + 1_000) await sleep(50);
  running = false;
  await Promise.all(producers);

  nodes.kill(follower);
  damage(join(dataDir, `node-${follower}`));
  await nodes.startNode(follower);
  nodes.kill(leader);
  await nodes.startNode(third);
  await sleep(3_000);
  await nodes.startNode(leader);

  const reader = new LogClient(new TcpConnector(nodes.peers), realScheduler, { appendTimeoutMs: 20_000 });
  // A write through it first: it commits only once a leader holds the partition again.
  const probe = await reader.append({ partition: 0 }, [new TextEncoder().encode('after-the-fault')]);
  let records = await reader.readAll(0);
  // Until reads are served by the leader only (issue 10), a follower still catching up may answer a shorter prefix.
  for (let attempt = 0; attempt < 50 && records.length <= probe.baseOffset; attempt++) {
    await sleep(100);
    records = await reader.readAll(0);
  }
  const byOffset = new Map(records.map((record) => [record.offset, new TextDecoder().decode(record.value)]));
  const lost = acked.filter((ack) => byOffset.get(ack.offset) !== ack.value);
  expect(lost).toEqual([]);
  expect(acked.length).toBeGreaterThan(1_200);
  reader.close();
  client.close();
  connector.close();
}

describe('a follower that lost acknowledged records on disk (real node processes, real files)', () => {
  const dataDirs: string[] = [];
  let nodes: NodeProcessCluster | null = null;
  const newDataDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'logscope-storage-faults-'));
    dataDirs.push(dir);
    return dir;
  };
  afterEach(() => {
    nodes?.stop();
    nodes = null;
  });
  afterAll(() => {
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged record when the leader is killed after the follower restarted with its fsynced tail cut', async () => {
    await followerDamagedThenLeaderKilled(newDataDir(), (started) => (nodes = started), (followerDir) => {
      // The tail of its newest segment, written and fdatasync'ed long ago, is cut.
      const segment = newestSegment(followerDir);
      const sizeBytes = statSync(segment).size;
      expect(sizeBytes).toBeGreaterThan(CUT_BYTES);
      truncateSync(segment, sizeBytes - CUT_BYTES);
    });
  }, 120_000);

  it('keeps every acknowledged record when the follower came back with an empty data directory (a replaced disk)', async () => {
    await followerDamagedThenLeaderKilled(newDataDir(), (started) => (nodes = started), (followerDir) => {
      // Everything goes: segments, identifiers, hard state, markers. It cannot tell itself from a
      // new node; it must not vote until a leader has caught it up.
      for (const name of readdirSync(followerDir)) rmSync(join(followerDir, name), { recursive: true, force: true });
    });
  }, 120_000);
});

import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseMetrics } from '@logscope/telemetry';
import { LogClient } from '../../packages/log-cluster/src/client.ts';
import { realScheduler } from '../../packages/log-cluster/src/clock.ts';
import { TcpConnector } from '../../packages/log-cluster/src/transport/tcp.ts';
import { NodeProcessCluster } from '../support/node-cluster.ts';
import { sleep, until } from '../support/until.ts';

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
 * `hooks.beforeThirdStops` runs while all three replicate (the follower's id given);
 * `hooks.followerRestarted` before the leader is killed.
 */
async function followerDamagedThenLeaderKilled(
  dataDir: string,
  started: (nodes: NodeProcessCluster) => void,
  damage: (followerDir: string) => void,
  hooks: { beforeThirdStops?: (follower: number, ackedCount: () => number) => Promise<void>; followerRestarted?: (follower: number) => Promise<void> } = {},
): Promise<void> {
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

  await hooks.beforeThirdStops?.(follower, () => acked.length);
  // The third replica stops: from now on the newest acknowledged records live on the leader and the follower only.
  nodes.kill(third);
  const ackedWithTwo = acked.length;
  while (acked.length < ackedWithTwo + 1_000) await sleep(50);
  running = false;
  await Promise.all(producers);

  nodes.kill(follower);
  damage(join(dataDir, `node-${follower}`));
  await nodes.startNode(follower);
  await hooks.followerRestarted?.(follower);
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

/** An unlabelled sample's value on a node's /metrics (absent: undefined). */
async function metric(telemetryUrl: string, name: string): Promise<number | undefined> {
  return parseMetrics(await (await fetch(`${telemetryUrl}/metrics`)).text()).find((sample) => sample.name === name)?.value;
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

  it('keeps every acknowledged record when the follower came back on an older copy of its data directory, and says so', async () => {
    const dataDir = newDataDir();
    const backupDir = join(newDataDir(), 'backup');
    let cluster: NodeProcessCluster | null = null;
    let acksSinceBackup = 0;
    await followerDamagedThenLeaderKilled(
      dataDir,
      (started) => (nodes = cluster = started),
      (followerDir) => {
        // The copy goes back in place: a log and hard states that look whole, from before every
        // record the follower acknowledged since.
        rmSync(followerDir, { recursive: true, force: true });
        cpSync(backupDir, followerDir, { recursive: true });
      },
      {
        beforeThirdStops: async (follower, ackedCount) => {
          // A backup of the follower, taken the way a crash would leave it (kill -9, then copy).
          cluster!.kill(follower);
          cpSync(join(dataDir, `node-${follower}`), backupDir, { recursive: true });
          await cluster!.startNode(follower);
          // Records past the copy, replicated to the follower while every replica hears it.
          const before = ackedCount();
          await until('300 records are acknowledged after the backup', () => (acksSinceBackup = ackedCount() - before) > 300, 20_000);
        },
        followerRestarted: async (follower) => {
          // The leader remembers more than the copy holds, and tells it: the node says so on its
          // output and in its metrics, and abstains until caught up.
          await until('the follower says its disk went back', () => (cluster!.outputs.get(follower) ?? '').includes('"disk-rolled-back"'), 10_000);
          expect(await metric(cluster!.telemetryUrl(follower), 'logscope_disk_rollbacks_total')).toBe(1);
        },
      },
    );
    expect(acksSinceBackup).toBeGreaterThan(300);
  }, 120_000);
});

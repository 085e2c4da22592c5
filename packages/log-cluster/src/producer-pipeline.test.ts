// Several batches of one producer in flight to one partition (embedded cluster: real files, real
// timers, in-process network), with the network between client and nodes losing, delaying and
// repeating append requests: every record is appended once, in the order the client issued it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogClient } from './client.ts';
import { realScheduler } from './clock.ts';
import { EmbeddedCluster } from './cluster.ts';
import { PRODUCER_IN_FLIGHT_MAX } from './payload.ts';
import type { ClientRequest, ClientResponse, NodeConnector } from './protocol.ts';
import type { NodeId } from './raft/types.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the wrapped network saw of append requests. */
interface Seen {
  inFlightMax: number;
  /** Answers asking the producer to send an earlier sequence first. */
  gapAnswers: number;
  /** Requests delivered a second time after their answer, and whether the answer matched. */
  repeats: { sequence: number; same: boolean }[];
}

/**
 * Between the client and the nodes: the first attempt of every third sequence is held back and
 * then lost (the client retries it after later sequences went through), and every fourth answered
 * request is delivered once more a little later, as a retry after a lost answer would be.
 */
function unreliable(inner: NodeConnector, seen: Seen): NodeConnector {
  let inFlight = 0;
  const lostOnce = new Set<string>();
  return {
    nodeIds: () => inner.nodeIds(),
    async request(node: NodeId, request: ClientRequest): Promise<ClientResponse> {
      if (request.kind !== 'append') return inner.request(node, request);
      const key = `${request.producerId}/${request.sequence}`;
      inFlight++;
      seen.inFlightMax = Math.max(seen.inFlightMax, inFlight);
      try {
        if (request.sequence % 3 === 1 && !lostOnce.has(key)) {
          lostOnce.add(key);
          await sleep(30);
          throw new Error(`request ${key} lost`);
        }
        const response = await inner.request(node, request);
        if (response.kind === 'error' && response.error.message.includes('retry shortly') && response.error.message.includes('before')) seen.gapAnswers++;
        if (response.kind === 'append' && request.sequence % 4 === 3) {
          // Later, once batches sent after it have committed too (the leader must still remember it).
          await sleep(20);
          const again = await inner.request(node, request);
          seen.repeats.push({ sequence: request.sequence, same: again.kind === 'append' && again.baseOffset === response.baseOffset && again.count === response.count });
        }
        return response;
      } finally {
        inFlight--;
      }
    },
  };
}

describe('a producer with several batches in flight', () => {
  let dir = '';
  /** The test's cluster, for afterEach to stop. */
  let running: EmbeddedCluster | null = null;

  afterEach(async () => {
    await running?.stop();
    running = null;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(partitionCount: number): Promise<EmbeddedCluster> {
    dir = mkdtempSync(join(tmpdir(), 'logscope-pipeline-'));
    const started = await EmbeddedCluster.start({ dataDir: dir, nodeCount: 3, partitionCount });
    running = started;
    expect(await started.waitForLeaders()).toBe(true);
    return started;
  }

  it('appends each record once, in issue order, when requests are lost, overtaken and repeated', async () => {
    const cluster = await start(2);
    const seen: Seen = { inFlightMax: 0, gapAnswers: 0, repeats: [] };
    // Every append is a whole batch (batchBytesMax 1), so the client sends the next while others are in flight.
    const client = new LogClient(unreliable(cluster.connector, seen), realScheduler, { retryBackoffMs: 5, batchBytesMax: 1 });
    try {
      // Waves of appends issued together: the client sends up to PRODUCER_IN_FLIGHT_MAX batches at once.
      const issued: string[] = [];
      const results: Promise<{ value: string; offset: number }>[] = [];
      for (let wave = 0; wave < 12; wave++) {
        for (let i = 0; i < 6; i++) {
          const value = `w${wave}r${i}`;
          issued.push(value);
          results.push(client.append({ partition: 1 }, [encoder.encode(value)]).then((r) => ({ value, offset: r.baseOffset })));
        }
        await sleep(wave % 2 === 0 ? 0 : 15);
      }
      const acked = await Promise.all(results);

      // What the client was told: offsets rise in the order the appends were issued.
      for (let i = 1; i < acked.length; i++) expect(acked[i]!.offset).toBeGreaterThan(acked[i - 1]!.offset);
      // What a fresh client reads: every record once, in issue order, at the offset it was acknowledged with.
      const reader = cluster.client();
      const log = (await reader.readAll(1)).map((r) => ({ value: decoder.decode(r.value), offset: r.offset }));
      expect(log.map((r) => r.value)).toEqual(issued);
      expect(log).toEqual(acked);
      reader.close();

      // The conditions the test is about did happen.
      expect(seen.inFlightMax).toBeGreaterThan(1);
      expect(seen.inFlightMax).toBeLessThanOrEqual(PRODUCER_IN_FLIGHT_MAX);
      expect(seen.gapAnswers).toBeGreaterThan(0);
      expect(seen.repeats.length).toBeGreaterThan(0);
      expect(seen.repeats.every((r) => r.same)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('with one batch in flight (maxInFlightBatches 1) never has two appends of a partition outstanding', async () => {
    const cluster = await start(1);
    const seen: Seen = { inFlightMax: 0, gapAnswers: 0, repeats: [] };
    const client = new LogClient(unreliable(cluster.connector, seen), realScheduler, { retryBackoffMs: 5, batchBytesMax: 1, maxInFlightBatches: 1 });
    try {
      const acked = await Promise.all(Array.from({ length: 20 }, (_, i) => client.append({ partition: 0 }, [encoder.encode(`r${i}`)])));
      expect(acked.map((r) => r.baseOffset)).toEqual([...acked.map((r) => r.baseOffset)].sort((a, b) => a - b));
      expect(seen.inFlightMax).toBe(1);
      expect(() => new LogClient(cluster.connector, realScheduler, { maxInFlightBatches: PRODUCER_IN_FLIGHT_MAX + 1 })).toThrow(/maxInFlightBatches/);
    } finally {
      client.close();
    }
  });

  it('appends made in one turn share a batch; later ones wait for it and share the next', async () => {
    const cluster = await start(1);
    const seen: Seen = { inFlightMax: 0, gapAnswers: 0, repeats: [] };
    const batches: number[] = [];
    const counting: NodeConnector = {
      nodeIds: () => cluster.connector.nodeIds(),
      request: (node, request) => {
        if (request.kind === 'append') batches.push(request.records.length);
        return cluster.connector.request(node, request);
      },
    };
    const record = new Uint8Array(100);
    // 50 small appends in one turn go as one batch; 30 made while it awaits its commit, as the next.
    const small = new LogClient(counting, realScheduler, {});
    const first = Promise.all(Array.from({ length: 50 }, () => small.append({ partition: 0 }, [record])));
    await new Promise((resolve) => setImmediate(resolve));
    const second = Promise.all(Array.from({ length: 30 }, () => small.append({ partition: 0 }, [record])));
    await Promise.all([first, second]);
    expect(batches).toEqual([50, 30]);
    // Eight producers that each append again once acknowledged (a closed loop): every batch
    // carries all eight. Sending the first append of a turn at once made batches of 1 and 7.
    batches.length = 0;
    const producer = async (): Promise<void> => {
      for (let round = 0; round < 10; round++) await small.append({ partition: 0 }, [record]);
    };
    await Promise.all(Array.from({ length: 8 }, producer));
    expect(batches).toEqual(Array.from({ length: 10 }, () => 8));
    small.close();
    // Appends that each fill a batch: several in flight at once.
    batches.length = 0;
    const big = new LogClient(unreliable(cluster.connector, seen), realScheduler, { batchBytesMax: 100 });
    await Promise.all(Array.from({ length: 8 }, () => big.append({ partition: 0 }, [record])));
    expect(seen.inFlightMax).toBe(PRODUCER_IN_FLIGHT_MAX);
    big.close();
  });
});

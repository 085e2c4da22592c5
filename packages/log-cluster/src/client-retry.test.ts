// The client's waits on a leader that answers but cannot serve yet (partition-level Unavailable:
// no commit in its term, a full queue): a fake node and a recording scheduler, so the waits are
// exact.
import { describe, expect, it } from 'vitest';
import { LogClient, RETRY_BACKOFF_MS_MAX } from './client.ts';
import type { Scheduler } from './clock.ts';
import type { ClientRequest, ClientResponse, NodeConnector } from './protocol.ts';

/** Runs every timer on the next macrotask, with the clock jumping by its delay; records the delays. */
function recordingScheduler(): Scheduler & { delays: number[] } {
  let nowMs = 0;
  const delays: number[] = [];
  return {
    delays,
    now: () => nowMs,
    setTimer(delayMs, fn) {
      delays.push(delayMs);
      const handle = setImmediate(() => {
        nowMs += delayMs;
        fn();
      });
      return () => clearImmediate(handle);
    },
  };
}

/** Node 1 leads partition 0 (replicas 1, 2, 3) and answers its first `busyAnswers` appends with a partition-level Unavailable. */
function busyLeader(busyAnswers: number): NodeConnector & { appends: number } {
  const node = {
    appends: 0,
    nodeIds: () => [1, 2, 3],
    async request(_to: number, request: ClientRequest): Promise<ClientResponse> {
      if (request.kind === 'metadata') return { kind: 'metadata', nodeId: 1, partitionCount: 1, partitions: [{ partition: 0, replicas: [1, 2, 3], leader: 1, term: 1 }] };
      if (request.kind !== 'append') throw new Error(`unexpected ${request.kind}`);
      node.appends++;
      if (node.appends <= busyAnswers) return { kind: 'error', error: { code: 'Unavailable', message: 'partition 0: queue full, retry shortly', details: { partition: 0, leaderHint: 1 } } };
      return { kind: 'append', baseOffset: 0, count: 1 };
    },
  };
  return node;
}

describe('client retries on a leader that cannot serve yet', () => {
  it('waits longer each time (doubling from retryBackoffMs, capped), and the append then goes through', async () => {
    const scheduler = recordingScheduler();
    const node = busyLeader(6);
    // random() = 1: every wait is its full base, no jitter.
    const client = new LogClient(node, scheduler, { retryBackoffMs: 15, random: () => 1 });
    const result = await client.append({ partition: 0 }, [new Uint8Array([1])]);
    expect(result.baseOffset).toBe(0);
    expect(node.appends).toBe(7);
    // The rest are each attempt's timeout (attemptTimeoutMs), cancelled by its answer.
    const waits = scheduler.delays.filter((ms) => ms > 0 && ms !== 1_000);
    expect(waits).toEqual([15, 30, 60, RETRY_BACKOFF_MS_MAX, RETRY_BACKOFF_MS_MAX, RETRY_BACKOFF_MS_MAX]);
    client.close();
  });
});

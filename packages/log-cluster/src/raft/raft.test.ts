import { describe, expect, it } from 'vitest';
import { MemoryRaftStorage } from './memory-storage.ts';
import { NodeInflight } from './node-inflight.ts';
import { message, QUIESCE_HEARTBEAT, QUIESCE_IDLE_HEARTBEATS, Raft, type RaftOptions } from './raft.ts';
import { FAULT_ANSWER_CANNOT_TELL, FAULT_ANSWER_DONT_HAVE, FAULT_ANSWER_HAVE, FAULT_ANSWER_HAVE_FAULTY, type Entry, type Message, type NodeId, type RaftConfig, type ReadState } from './types.ts';
import { seededRandom } from '../sim/random.ts';

const ELECTION_TICKS = 10;
const HEARTBEAT_TICKS = 1;
/**
 * A new commit rides on the next append or heartbeat; the heartbeat of an interval in which a
 * follower got an append is skipped, so a follower learns it within two heartbeat intervals.
 */
const COMMIT_REACHES_FOLLOWERS_TICKS = 2 * HEARTBEAT_TICKS;

interface TestNode {
  raft: Raft;
  storage: MemoryRaftStorage;
  /** Committed (index → term), as handed out in Ready.committedEntries. */
  applied: Map<number, number>;
  /** Fraction of electionTicks added to the election timeout: node with the smallest campaigns first. */
  rand: number;
  abstainMarker: boolean;
  /** Read states handed out in Readys, in order. */
  reads: ReadState[];
}

type Filter = (m: Message) => Message | null;

/** Deterministic network: FIFO delivery, Ready persisted into MemoryRaftStorage before sending. */
class Net {
  readonly nodes = new Map<NodeId, TestNode>();
  readonly ids: NodeId[];
  private queue: Message[] = [];
  private isolated = new Set<NodeId>();
  filter: Filter | null = null;
  /** Chaos mode: deliver in random order, drop and duplicate messages (seeded). */
  chaos: { rng: () => number; drop: number; duplicate: number } | null = null;
  /** term → leader, over the whole run: at most one leader per term. */
  readonly leaders = new Map<number, NodeId>();
  readonly committedEverywhere = new Map<number, number>();

  constructor(
    n: number,
    private readonly overrides: Partial<RaftConfig> = {},
  ) {
    this.ids = Array.from({ length: n }, (_, i) => i + 1);
    for (const id of this.ids) {
      const node: TestNode = {
        raft: undefined as unknown as Raft,
        storage: new MemoryRaftStorage(),
        applied: new Map(),
        rand: (id - 1) / (n + 1),
        abstainMarker: false,
        reads: [],
      };
      this.nodes.set(id, node);
      node.raft = new Raft(this.config(id));
    }
  }

  config(id: NodeId, extra: Partial<RaftOptions> = {}): RaftOptions {
    const node = this.node(id);
    return {
      id,
      peers: this.ids,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: HEARTBEAT_TICKS,
      storage: node.storage,
      random: () => (this.chaos === null ? node.rand : this.chaos.rng()),
      maxBytesPerMessage: 1024,
      maxInflightMessages: 4,
      maxInflightBytes: 0,
      preVote: true,
      checkQuorum: true,
      ...this.overrides,
      ...extra,
    };
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: NodeId): Raft {
    return this.node(id).raft;
  }

  /**
   * Crash and restart from what was persisted. A replica recovered from corruption keeps abstaining
   * across restarts until Raft reports it caught up (the node persists that marker).
   */
  restart(id: NodeId, extra: Partial<RaftOptions> = {}): void {
    const node = this.node(id);
    this.queue = this.queue.filter((m) => m.to !== id);
    node.abstainMarker = (node.abstainMarker && node.raft.abstainingFromVotes()) || (extra.abstainFromVoting ?? false);
    node.raft = new Raft(this.config(id, { ...extra, abstainFromVoting: node.abstainMarker }));
  }

  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  heal(): void {
    this.isolated.clear();
  }

  /** Persist and emit every pending Ready of every node. */
  private flush(): void {
    for (const [id, node] of this.nodes) {
      while (node.raft.hasReady()) {
        const rd = node.raft.ready();
        if (rd.hardState !== null) node.storage.setHardState(rd.hardState);
        if (rd.snapshot !== null) node.storage.applySnapshot(rd.snapshot);
        node.storage.append(rd.entries);
        this.queue.push(...rd.messages);
        node.reads.push(...rd.readStates);
        for (const e of rd.committedEntries) {
          node.applied.set(e.index, e.term);
          const seen = this.committedEverywhere.get(e.index);
          if (seen !== undefined) expect(e.term, `entry ${e.index} committed with two terms`).toBe(seen);
          this.committedEverywhere.set(e.index, e.term);
        }
        node.raft.advance(rd);
        const st = node.raft.status();
        if (st.role === 'leader') {
          const prev = this.leaders.get(st.term);
          expect(prev === undefined || prev === id, `two leaders in term ${st.term}`).toBe(true);
          this.leaders.set(st.term, id);
        }
      }
    }
  }

  stabilize(maxMessages = 100_000): void {
    for (let delivered = 0; ; delivered++) {
      expect(delivered).toBeLessThan(maxMessages);
      this.flush();
      let m: Message | undefined;
      if (this.chaos === null) {
        m = this.queue.shift();
      } else {
        const i = Math.floor(this.chaos.rng() * this.queue.length);
        m = this.queue[i];
        this.queue.splice(i, 1);
        if (m !== undefined && this.chaos.rng() < this.chaos.duplicate) this.queue.push(m);
        if (m !== undefined && this.chaos.rng() < this.chaos.drop) continue;
      }
      if (m === undefined) return;
      if (this.isolated.has(m.from) || this.isolated.has(m.to)) continue;
      const out = this.filter === null ? m : this.filter(m);
      if (out !== null) this.raft(m.to).step(out);
    }
  }

  tick(times = 1, ids: readonly NodeId[] = this.ids): void {
    for (let i = 0; i < times; i++) {
      for (const id of ids) this.raft(id).tick();
      this.stabilize();
    }
  }

  /** Tick only `id` (the others' clocks stand still) until it wins an election. */
  campaign(id: NodeId): void {
    for (let i = 0; i < 10 * ELECTION_TICKS && this.raft(id).status().role !== 'leader'; i++) {
      this.raft(id).tick();
      this.stabilize();
    }
  }

  /** A leader every replica knows, all at its term, not handing leadership over. */
  agreedLeader(): NodeId | undefined {
    const l = this.leaderAmong();
    if (l === undefined || this.raft(l).status().transferee !== 0) return undefined;
    const term = this.raft(l).status().term;
    return this.ids.every((id) => this.raft(id).status().leader === l && this.raft(id).status().term === term) ? l : undefined;
  }

  leaderAmong(ids: readonly NodeId[] = this.ids): NodeId | undefined {
    const found = ids.filter((id) => this.raft(id).status().role === 'leader');
    return found.length === 1 ? found[0] : undefined;
  }

  propose(id: NodeId, text: string, count = 1): void {
    const r = this.raft(id).propose(new TextEncoder().encode(text), count);
    expect(r.ok).toBe(true);
    this.stabilize();
  }

  /** Every entry a node holds (storage view: all persisted). */
  log(id: NodeId): Entry[] {
    const s = this.node(id).storage;
    return s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
  }
}

function terms(entries: readonly Entry[]): number[] {
  return entries.map((e) => e.term);
}

/**
 * With followers 2 and 3 cut off, leader 1 proposes `count` entries of `bytes` each and persists
 * its Ready; returns the appends to node 2 in it that carry entries (what flow control let out).
 */
function appendsTo2WhileCut(net: Net, count: number, bytes: number): Message[] {
  net.tick(1);
  net.isolate(2);
  net.isolate(3);
  const leader = net.raft(1);
  for (let i = 0; i < count; i++) leader.propose(new Uint8Array(bytes), 1);
  const rd = leader.ready();
  net.node(1).storage.append(rd.entries);
  leader.advance(rd);
  return rd.messages.filter((m) => m.to === 2 && m.type === 'append' && m.entries.length > 0);
}

function electedNet(n: number, overrides: Partial<RaftConfig> = {}): Net {
  const net = new Net(n, overrides);
  net.campaign(1);
  expect(net.raft(1).status().role).toBe('leader');
  return net;
}

describe('Raft elections', () => {
  it('elects exactly one leader per term, and all replicas agree on it', () => {
    const net = new Net(5);
    net.tick(3 * ELECTION_TICKS);
    const leader = net.leaderAmong();
    expect(leader).toBe(1); // smallest randomized timeout
    const term = net.raft(1).status().term;
    for (const id of net.ids) {
      expect(net.raft(id).status().leader).toBe(1);
      expect(net.raft(id).status().term).toBe(term);
    }
    // Churn: isolate leaders repeatedly; the harness asserts one leader per term throughout.
    for (let round = 0; round < 4; round++) {
      const l = net.leaderAmong();
      expect(l).toBeDefined();
      net.isolate(l ?? 0);
      net.tick(4 * ELECTION_TICKS);
      net.heal();
      net.tick(4 * ELECTION_TICKS);
    }
    expect(net.leaderAmong()).toBeDefined();
    expect(net.leaders.size).toBeGreaterThanOrEqual(3);
  });

  it('a single-node group elects itself and commits after persisting', () => {
    const net = new Net(1);
    net.tick(2 * ELECTION_TICKS);
    expect(net.raft(1).status().role).toBe('leader');
    net.propose(1, 'a', 3);
    expect(net.raft(1).status().commit).toBe(2);
    expect(net.raft(1).lastOffsetEnd()).toBe(3);
  });

  it('does not grant two votes in one term, even after a restart from persisted hard state', () => {
    const net = new Net(3);
    const r2 = net.raft(2);
    r2.step(message({ type: 'vote', from: 1, to: 2, term: 5, index: 0, logTerm: 0 }));
    net.stabilize();
    expect(net.node(2).storage.hardState()).toMatchObject({ term: 5, vote: 1 });

    net.restart(2);
    const r2b = net.raft(2);
    expect(r2b.status()).toMatchObject({ term: 5, vote: 1 });
    r2b.step(message({ type: 'vote', from: 3, to: 2, term: 5, index: 0, logTerm: 0 }));
    r2b.step(message({ type: 'vote', from: 1, to: 2, term: 5, index: 0, logTerm: 0 }));
    const msgs = r2b.ready().messages;
    expect(msgs.map((m) => [m.to, m.type, m.reject])).toEqual([
      [3, 'voteResp', true],
      [1, 'voteResp', false], // re-granting the same candidate is fine
    ]);
    expect(r2b.status().vote).toBe(1);
  });

  it('does not vote for a candidate whose log is behind', () => {
    const net = electedNet(3, { checkQuorum: false });
    net.propose(1, 'x');
    const st = net.raft(2).status();
    net.raft(2).step(message({ type: 'vote', from: 3, to: 2, term: st.term + 1, index: 1, logTerm: st.term }));
    const resp = net.raft(2).ready().messages.find((m) => m.type === 'voteResp');
    expect(resp?.reject).toBe(true);
  });
});

describe('Raft replication', () => {
  it('replicates and commits entries with dense record offsets', () => {
    const net = electedNet(3);
    net.propose(1, 'a', 2);
    net.propose(1, 'bb', 5);
    net.propose(1, 'ccc', 1);
    for (const id of net.ids) {
      const log = net.log(id);
      expect(log.map((e) => [e.index, e.offset, e.count])).toEqual([
        [1, 0, 0], // the new leader's no-op
        [2, 0, 2],
        [3, 2, 5],
        [4, 7, 1],
      ]);
      expect(net.raft(id).lastOffsetEnd()).toBe(8);
    }
    expect(net.raft(1).status().commit).toBe(4);
    // Followers learn the commit index with the next append or heartbeat.
    net.tick(COMMIT_REACHES_FOLLOWERS_TICKS);
    for (const id of net.ids) {
      expect(net.raft(id).status().commit).toBe(4);
      expect([...net.node(id).applied.keys()]).toEqual([1, 2, 3, 4]);
    }
  });

  it('rejects proposals on followers with the leader hint', () => {
    const net = electedNet(3);
    const r = net.raft(2).propose(new Uint8Array(1), 1);
    expect(r).toEqual({ ok: false, reason: 'not-leader', leaderHint: 1 });
  });

  it('the leader counts its own entries toward commit only after advance()', () => {
    const net = electedNet(3);
    net.isolate(2);
    net.isolate(3);
    const leader = net.raft(1);
    const commitBefore = leader.status().commit;
    leader.propose(new Uint8Array([1]), 1);
    // Follower 2 acknowledges the append (sent before the leader persisted), the leader has not advanced.
    const rd = leader.ready();
    const app = rd.messages.find((m) => m.to === 2 && m.type === 'append');
    expect(app).toBeDefined();
    net.raft(2).step(app as Message);
    const r2 = net.raft(2).ready();
    net.node(2).storage.append(r2.entries);
    net.raft(2).advance(r2);
    const ack = r2.messages.find((m) => m.type === 'appendResp');
    leader.step(ack as Message);
    // 2 of 3 hold it (follower 2 and the leader's memory), but the leader's copy is not durable yet.
    expect(leader.status().commit).toBe(commitBefore);
    expect(commitBefore).toBe(1);
    net.node(1).storage.append(rd.entries);
    leader.advance(rd);
    expect(leader.status().commit).toBe(2);
  });

  it('truncates a follower with conflicting entries to the leader log', () => {
    const net = electedNet(3);
    net.propose(1, 'committed');
    net.tick(1);
    // Old leader 1 is cut off and accepts proposals nobody else sees.
    net.isolate(1);
    for (const s of ['lost-1', 'lost-2', 'lost-3']) net.propose(1, s);
    expect(net.log(1)).toHaveLength(5);
    // The majority elects 2, which writes different entries at the same indexes.
    net.tick(3 * ELECTION_TICKS, [2, 3]);
    expect(net.raft(2).status().role).toBe('leader');
    net.propose(2, 'new-a', 4);
    net.heal();
    net.tick(3 * ELECTION_TICKS);
    expect(net.leaderAmong()).toBe(2);
    const reference = net.log(2);
    expect(net.log(1)).toEqual(reference);
    expect(net.log(3)).toEqual(reference);
    expect(reference.map((e) => new TextDecoder().decode(e.data))).toEqual(['', 'committed', '', 'new-a']);
    expect(net.raft(1).lastOffsetEnd()).toBe(5);
  });

  it('figure 8: an entry of an earlier term is committed only together with one of the current term', () => {
    // Check-quorum off: elections here are driven by crashes and restarts, not by leases.
    const net = new Net(5, { checkQuorum: false });
    net.campaign(1);
    expect(net.leaderAmong()).toBe(1);
    net.tick(1);
    // (a) S1 (term 1) replicates index 2 to S2 only.
    for (const id of [3, 4, 5]) net.isolate(id);
    net.propose(1, 'term1-entry');
    expect(terms(net.log(2))).toEqual([1, 1]);
    // (b) S1 crashes; S5 wins term 2 with S3, S4 and writes index 2 only locally.
    net.heal();
    net.isolate(1);
    net.isolate(2);
    net.filter = (m) => (m.from === 5 && m.type === 'append' ? null : m);
    net.campaign(5);
    expect(net.raft(5).status()).toMatchObject({ role: 'leader', term: 2 });
    expect(terms(net.log(5))).toEqual([1, 2]);
    // (c) S5 crashes; S1 restarts and wins term 3; index 2 (term 1) reaches S2, S3 (a majority), the
    // term-3 no-op at index 3 reaches nobody.
    net.heal();
    net.isolate(5);
    net.filter = null;
    net.restart(1);
    net.filter = (m) =>
      m.from === 1 && m.type === 'append' ? { ...m, entries: m.entries.filter((e) => e.index <= 2) } : m;
    net.campaign(1);
    expect(net.raft(1).status()).toMatchObject({ role: 'leader', term: 3 });
    net.tick(3);
    for (const id of [2, 3, 4]) expect(terms(net.log(id))).toEqual([1, 1]);
    // Majority holds index 2, but it is from term 1: not committed by counting replicas.
    expect(net.raft(1).status().commit).toBe(1);
    expect(net.committedEverywhere.has(2)).toBe(false);
    // (e) Index 3 (term 3) reaches the majority: both commit.
    net.filter = null;
    net.tick(2);
    expect(net.raft(1).status().commit).toBe(3);
    expect(net.committedEverywhere.get(2)).toBe(1);
    // S5's term-2 entry is overwritten once it rejoins.
    net.heal();
    net.tick(3);
    expect(terms(net.log(5))).toEqual([1, 1, 3]);
  });

  it('a follower behind the leader log start gets a snapshot, then catches up', () => {
    const net = electedNet(3, { maxBytesPerMessage: 8 });
    net.isolate(3);
    for (let i = 0; i < 10; i++) net.propose(1, `record-${i}`, 2);
    net.tick(1, [1, 2]);
    const commit = net.raft(1).status().commit;
    expect(commit).toBe(11);
    // Retention on the leader (and 2) drops most of the log.
    net.node(1).storage.compact(8);
    net.node(2).storage.compact(8);
    net.heal();
    net.tick(3);
    const s3 = net.node(3).storage;
    expect(s3.snapshot()).toEqual(net.node(1).storage.snapshot());
    expect(s3.snapshot().index).toBe(8);
    expect(net.log(3)).toEqual(net.log(1));
    expect(net.raft(3).status().commit).toBe(11);
    expect(net.raft(3).lastOffsetEnd()).toBe(20);
    // It keeps following afterwards.
    net.propose(1, 'after');
    net.tick(COMMIT_REACHES_FOLLOWERS_TICKS);
    expect(net.raft(3).status().commit).toBe(12);
    expect(net.log(3).at(-1)?.offset).toBe(20);
  });

  it('sends no heartbeat to a follower that got an append in the interval, and no append of its own for a new commit', () => {
    const net = electedNet(3, { checkQuorum: false });
    const sent: string[] = [];
    net.filter = (m) => {
      if (m.from === 1) sent.push(m.type === 'append' ? (m.entries.length > 0 ? 'append' : 'empty append') : m.type);
      return m;
    };
    // Under load (a proposal every heartbeat interval) the leader sends appends only.
    for (let i = 0; i < 5; i++) {
      net.propose(1, `load-${i}`);
      net.tick(1);
    }
    expect(sent.filter((t) => t === 'append')).toHaveLength(10);
    expect(sent.filter((t) => t !== 'append')).toEqual([]);
    const last = net.raft(1).status().lastIndex;
    expect(net.raft(1).status().commit).toBe(last);
    // Idle: the next interval's heartbeats carry the last commit to the followers.
    sent.length = 0;
    net.tick(1);
    expect(sent).toEqual(['heartbeat', 'heartbeat']);
    for (const id of net.ids) expect(net.raft(id).status().commit).toBe(last);
    // A read's heartbeat round goes to every follower, even right after an append.
    net.propose(1, 'before-read');
    sent.length = 0;
    expect(net.raft(1).readIndex().ok).toBe(true);
    net.stabilize();
    expect(sent.filter((t) => t === 'heartbeat')).toHaveLength(2);
    expect(net.node(1).reads.at(-1)?.ok).toBe(true);
  });

  it('re-sends an append lost in replicate state once a heartbeat answer shows no progress', () => {
    const net = electedNet(3, { checkQuorum: false });
    net.propose(1, 'warm');
    net.tick(3);
    // Node 3's copy of the next append is lost; node 2's commits it.
    let dropped = 0;
    net.filter = (m) => {
      if (m.from === 1 && m.to === 3 && m.type === 'append' && m.entries.length > 0 && dropped === 0) {
        dropped++;
        return null;
      }
      return m;
    };
    net.propose(1, 'lost-once');
    const last = net.raft(1).status().lastIndex;
    expect(dropped).toBe(1);
    expect(net.raft(1).status().commit).toBe(last);
    expect(net.raft(3).status().lastIndex).toBe(last - 1);
    // The interval of the lost append skips node 3's heartbeat; the next one's answer shows node 3
    // stuck, and the entry goes again.
    net.tick(2);
    expect(net.raft(3).status().lastIndex).toBe(last);
    expect(net.log(3)).toEqual(net.log(1));
  });

  it('limits appends in flight per follower and bytes per message', () => {
    const net = electedNet(3, { maxBytesPerMessage: 10, maxInflightMessages: 2 });
    const appendsTo2 = appendsTo2WhileCut(net, 10, 6);
    expect(appendsTo2.length).toBe(2);
    for (const m of appendsTo2) {
      expect(m.entries.length).toBe(1); // 6 + 6 bytes would exceed 10
    }
    const leader = net.raft(1);
    net.heal();
    net.tick(5);
    expect(net.log(2)).toEqual(net.log(1));
    expect(leader.status().commit).toBe(11);
  });

  it('shares a node-wide limit of bytes in flight per follower between partitions, and gives every byte back', () => {
    const shared = new NodeInflight(12);
    // Two partitions led by node 1, both sharing its limit of 12 bytes in flight to each follower.
    const nets = [electedNet(3, { maxBytesPerMessage: 10, maxInflightMessages: 8, nodeInflight: shared }), electedNet(3, { maxBytesPerMessage: 10, maxInflightMessages: 8, nodeInflight: shared })];
    const sentTo2 = nets.map((net) => appendsTo2WhileCut(net, 10, 6).length);
    // The first partition fills the share (two appends of 6 bytes); the second, with nothing in
    // flight, still sends one: none starves.
    expect(sentTo2).toEqual([2, 1]);
    expect(shared.inFlight(2)).toBe(18);
    for (const net of nets) {
      net.heal();
      net.tick(5);
      expect(net.log(2)).toEqual(net.log(1));
      expect(net.log(3)).toEqual(net.log(1));
    }
    expect([shared.inFlight(2), shared.inFlight(3)]).toEqual([0, 0]);
    // A leader that loses its leadership with appends in flight gives their bytes back.
    const net = nets[0]!;
    net.isolate(3);
    for (let i = 0; i < 3; i++) net.propose(1, 'abcdef');
    expect(shared.inFlight(3)).toBeGreaterThan(0);
    net.heal();
    net.isolate(1); // it steps down on its own (check-quorum)
    net.tick(3 * ELECTION_TICKS);
    expect(net.raft(1).status().role).not.toBe('leader');
    expect(shared.inFlight(3)).toBe(0);
  });

  it('reads no further for a follower while its storage defers reads and an append is in flight, and still catches it up', () => {
    const inFlightTo3 = (deferred: boolean): number => {
      const net = electedNet(3, { maxBytesPerMessage: 8, maxInflightMessages: 4 });
      net.tick(1);
      net.isolate(3);
      for (let i = 0; i < 12; i++) net.propose(1, 'abcdef');
      expect(net.raft(1).status().commit).toBe(13);
      const storage: MemoryRaftStorage & { readDeferred?: (index: number) => boolean } = net.node(1).storage;
      storage.readDeferred = (index) => deferred && index <= storage.lastIndex();
      let inFlight = 0;
      let most = 0;
      net.filter = (m) => {
        if (m.from === 1 && m.to === 3 && m.type === 'append' && m.entries.length > 0) most = Math.max(most, ++inFlight);
        if (m.from === 3 && m.to === 1 && m.type === 'appendResp' && !m.reject && inFlight > 0) inFlight--;
        return m;
      };
      net.heal();
      net.tick(5);
      expect(net.log(3)).toEqual(net.log(1));
      return most;
    };
    // One entry per append. Deferred: one at a time, each answer asking for the next (a re-send
    // after a heartbeat answer may join it); else the pipeline fills to its four messages.
    expect(inFlightTo3(false)).toBeGreaterThanOrEqual(4);
    expect(inFlightTo3(true)).toBeLessThanOrEqual(2);
  });

  it('limits entry bytes in flight per follower, and frees them as acks come', () => {
    const net = electedNet(3, { maxBytesPerMessage: 10, maxInflightMessages: 8, maxInflightBytes: 12 });
    // Two appends of one 6-byte entry each reach the 12-byte limit; eight messages would be allowed.
    expect(appendsTo2WhileCut(net, 10, 6).map((m) => m.entries.length)).toEqual([1, 1]);
    const leader = net.raft(1);
    net.heal();
    net.tick(5);
    expect(net.log(2)).toEqual(net.log(1));
    expect(net.log(3)).toEqual(net.log(1));
    expect(leader.status().commit).toBe(11);
  });
});

describe('Raft liveness and leases', () => {
  it('isolated leader steps down within 2 election timeouts (check-quorum)', () => {
    const net = electedNet(3);
    net.isolate(1);
    net.tick(2 * ELECTION_TICKS, [1]);
    expect(net.raft(1).status().role).toBe('follower');
    expect(net.raft(1).status().leader).toBe(0);
  });

  it('a rejoining isolated node does not disrupt the leader (pre-vote, term unchanged)', () => {
    const net = electedNet(3);
    const term = net.raft(1).status().term;
    net.isolate(3);
    net.tick(5 * ELECTION_TICKS);
    expect(net.raft(3).status().term).toBe(term); // failed pre-votes never bump it
    net.heal();
    net.tick(3 * ELECTION_TICKS);
    for (const id of net.ids) expect(net.raft(id).status()).toMatchObject({ term, leader: 1 });
    expect(net.leaders.size).toBe(1);
  });

  it('followers that heard from a leader recently ignore votes (leader lease)', () => {
    const net = electedNet(3);
    const term = net.raft(1).status().term;
    net.raft(2).step(message({ type: 'vote', from: 3, to: 2, term: term + 1, index: 100, logTerm: term }));
    expect(net.raft(2).status().term).toBe(term);
    expect(net.raft(2).hasReady()).toBe(false);
  });

  it('leadership transfer makes the target leader, even when it starts behind', () => {
    const net = electedNet(3);
    net.isolate(3);
    net.propose(1, 'while-3-away');
    net.heal();
    const term = net.raft(1).status().term;
    net.raft(1).transferLeadership(3);
    expect(net.raft(1).propose(new Uint8Array(1), 1)).toEqual({ ok: false, reason: 'transferring', leaderHint: 1 });
    net.stabilize();
    expect(net.raft(3).status()).toMatchObject({ role: 'leader', term: term + 1 });
    expect(net.raft(1).status()).toMatchObject({ role: 'follower', leader: 3 });
    net.propose(3, 'after-transfer');
    net.tick(COMMIT_REACHES_FOLLOWERS_TICKS);
    expect(net.raft(1).status().commit).toBe(net.raft(3).status().commit);
  });

  it('a leadership transfer to an unreachable node is aborted after an election timeout', () => {
    const net = electedNet(3);
    net.isolate(3);
    net.raft(1).transferLeadership(3);
    net.stabilize();
    expect(net.raft(1).status().transferee).toBe(3);
    net.tick(ELECTION_TICKS, [1, 2]);
    expect(net.raft(1).status()).toMatchObject({ role: 'leader', transferee: 0 });
    expect(net.raft(1).propose(new Uint8Array(1), 1).ok).toBe(true);
  });
});

describe('Raft linearizable reads (ReadIndex)', () => {
  it('a read is confirmed at the commit index only after a quorum answered a heartbeat sent after it', () => {
    const net = electedNet(3);
    net.propose(1, 'a');
    const commit = net.raft(1).status().commit;
    const read = net.raft(1).readIndex();
    expect(read.ok).toBe(true);
    expect(net.node(1).reads).toEqual([]);
    // The heartbeat round goes out with the next Ready; the echoes confirm it.
    net.stabilize();
    expect(net.node(1).reads).toEqual([{ id: read.ok ? read.id : -1, index: commit, ok: true }]);
  });

  it('a follower refuses reads with the leader as hint', () => {
    const net = electedNet(3);
    expect(net.raft(2).readIndex()).toEqual({ ok: false, reason: 'not-leader', leaderHint: 1 });
  });

  it('a new leader refuses reads until it has committed an entry of its own term', () => {
    const net = new Net(3);
    net.filter = (m) => (m.type === 'appendResp' ? null : m); // its no-op never commits
    net.campaign(1);
    expect(net.raft(1).status().role).toBe('leader');
    expect(net.raft(1).readIndex()).toMatchObject({ ok: false, reason: 'not-ready' });
    net.filter = null;
    net.tick(2);
    expect(net.raft(1).readIndex().ok).toBe(true);
  });

  it('a deposed leader never confirms a read: it is dropped when the old leader steps down', () => {
    const net = electedNet(3);
    net.propose(1, 'a');
    net.isolate(1);
    const read = net.raft(1).readIndex();
    expect(read.ok).toBe(true);
    // The majority elects a new leader and commits past what node 1 knows.
    net.tick(3 * ELECTION_TICKS, [2, 3]);
    const next = net.leaderAmong([2, 3]);
    expect(next).toBeDefined();
    net.propose(next ?? 0, 'b');
    expect(net.node(1).reads).toEqual([]);
    net.tick(2 * ELECTION_TICKS, [1]);
    expect(net.raft(1).status().role).toBe('follower');
    expect(net.node(1).reads).toEqual([{ id: read.ok ? read.id : -1, index: expect.any(Number), ok: false }]);
  });

  it('one heartbeat round confirms every read registered before it (reads batch)', () => {
    const net = electedNet(5);
    const ids = Array.from({ length: 10 }, () => net.raft(1).readIndex()).map((r) => (r.ok ? r.id : -1));
    let heartbeats = 0;
    net.filter = (m) => {
      if (m.type === 'heartbeat') heartbeats++;
      return m;
    };
    net.stabilize();
    expect(heartbeats).toBe(4);
    expect(net.node(1).reads.map((r) => r.id)).toEqual(ids);
    expect(net.node(1).reads.every((r) => r.ok)).toBe(true);
  });

  it('a single-replica group confirms reads at once', () => {
    const net = new Net(1);
    net.campaign(1);
    const read = net.raft(1).readIndex();
    expect(read.ok).toBe(true);
    net.stabilize();
    expect(net.node(1).reads).toHaveLength(1);
  });
});

describe('Raft abstainFromVoting', () => {
  it('a replica that may have lost acknowledged entries grants no votes until caught up', () => {
    const net = electedNet(3, { checkQuorum: false });
    for (const s of ['a', 'b', 'c']) net.propose(1, s);
    net.tick(COMMIT_REACHES_FOLLOWERS_TICKS);
    expect(net.raft(3).status().commit).toBe(4);
    // Node 3 recovers from a corrupt segment: its tail (acknowledged entries) is gone.
    const hs = net.node(3).storage.hardState();
    const kept = net.log(3).slice(0, 1);
    net.node(3).storage = new MemoryRaftStorage({ hardState: hs, entries: kept });
    net.isolate(1);
    net.restart(3, { abstainFromVoting: true });
    expect(net.raft(3).status().commit).toBe(1);

    // Node 2 (holding everything) asks for a vote: 3 would be needed, and abstains.
    const term = net.raft(3).status().term;
    net.raft(3).step(message({ type: 'preVote', from: 2, to: 3, term: term + 1, index: 4, logTerm: term }));
    net.raft(3).step(message({ type: 'vote', from: 2, to: 3, term: term + 1, index: 4, logTerm: term }));
    const refusals = net.raft(3).ready().messages;
    expect(refusals.map((m) => [m.type, m.reject])).toEqual([
      ['preVoteResp', true],
      ['voteResp', true],
    ]);
    // It does not campaign either: its own log may be missing committed entries.
    net.tick(4 * ELECTION_TICKS, [3]);
    expect(net.raft(3).status().role).toBe('follower');

    // Back with the leader: it is re-synced, reaches the leader's commit, and votes again.
    net.heal();
    net.restart(1);
    net.campaign(1);
    net.tick(3);
    expect(net.log(3)).toEqual(net.log(1));
    const t = net.raft(3).status().term;
    net.raft(3).step(message({ type: 'preVote', from: 2, to: 3, term: t + 1, index: 100, logTerm: t }));
    const grant = net.raft(3).ready().messages.find((m) => m.type === 'preVoteResp');
    expect(grant?.reject).toBe(false);
  });

  it('a leader re-syncs a follower that lost entries it had acknowledged', () => {
    const net = electedNet(3, { checkQuorum: false });
    for (const s of ['a', 'b']) net.propose(1, s);
    net.tick(1);
    const hs = net.node(2).storage.hardState();
    net.node(2).storage = new MemoryRaftStorage({ hardState: hs, entries: net.log(2).slice(0, 1) });
    net.restart(2, { abstainFromVoting: true });
    net.tick(3);
    expect(net.log(2)).toEqual(net.log(1));
    expect(net.raft(1).status().progress?.get(2)?.match).toBe(3);
  });
});


describe('Raft faulty tails (protocol-aware recovery)', () => {
  /** Node `id` loses its log after entry `keep`, the lost entries being known (identifiers) as a faulty tail. */
  function loseTail(net: Net, id: NodeId, keep: number): { firstIndex: number; firstTerm: number; lastIndex: number; lastTerm: number } {
    const log = net.log(id);
    const lost = log.filter((e) => e.index > keep);
    const first = lost[0];
    const last = lost[lost.length - 1];
    if (first === undefined || last === undefined) throw new Error('nothing to lose');
    const tail = { firstIndex: first.index, firstTerm: first.term, lastIndex: last.index, lastTerm: last.term };
    const hs = net.node(id).storage.hardState();
    net.node(id).storage = new MemoryRaftStorage({ hardState: hs, entries: log.filter((e) => e.index <= keep) });
    net.restart(id, { faultyTail: tail });
    return tail;
  }

  it('a faulty replica votes counting the entries it lost, and never campaigns', () => {
    const net = electedNet(3, { checkQuorum: false });
    for (const s of ['a', 'b', 'c']) net.propose(1, s);
    net.tick(COMMIT_REACHES_FOLLOWERS_TICKS);
    expect(net.raft(3).status().commit).toBe(4);
    net.isolate(1);
    net.isolate(2);
    const tail = loseTail(net, 3, 1);
    expect(net.raft(3).faultyTail()).toEqual(tail);
    const term = net.raft(3).status().term;
    // A candidate holding only what survived on node 3 must not win its vote: it would lose entries 2-4.
    net.raft(3).step(message({ type: 'vote', from: 2, to: 3, term: term + 1, index: 1, logTerm: tail.firstTerm }));
    // A candidate holding everything node 3 ever acknowledged gets it.
    net.raft(3).step(message({ type: 'vote', from: 1, to: 3, term: term + 2, index: tail.lastIndex, logTerm: tail.lastTerm }));
    const answers = net.raft(3).ready().messages.filter((m) => m.type === 'voteResp');
    expect(answers.map((m) => [m.to, m.reject])).toEqual([
      [2, true],
      [1, false],
    ]);
    // Alone, it asks its peers about its tail but never campaigns on a log it cannot vouch for.
    net.tick(5 * ELECTION_TICKS, [3]);
    expect(net.raft(3).status().role).toBe('follower');
    expect(net.raft(3).faultyTail()).toEqual(tail);
  });

  it('a probe without entries below the leader\'s last index does not repair a faulty tail; one at it does', () => {
    const net = electedNet(3, { checkQuorum: false });
    for (const s of ['a', 'b', 'c']) net.propose(1, s);
    net.tick(COMMIT_REACHES_FOLLOWERS_TICKS);
    net.isolate(1);
    net.isolate(2);
    const tail = loseTail(net, 3, 1);
    const leader = net.raft(1).status();
    const matchedTerm = net.log(1)[0]!.term;
    // What a leader sends while it reads the entries from disk: a probe at node 3's end (entry 1),
    // no entries. It matches, but node 3 still lacks entries 2-4, which were committed: were the
    // tail repaired, node 3 would vote for a candidate without them (seed 700143 lost them so).
    net.raft(3).step(message({ type: 'append', from: 1, to: 3, term: leader.term, index: 1, logTerm: matchedTerm, commit: leader.commit, rejectHint: leader.lastIndex }));
    expect(net.raft(3).faultyTail()).toEqual(tail);
    net.raft(3).step(message({ type: 'vote', from: 2, to: 3, term: leader.term + 1, index: 1, logTerm: matchedTerm }));
    expect(net.raft(3).ready().messages.filter((m) => m.type === 'voteResp').map((m) => m.reject)).toEqual([true]);
    // The same append from a leader whose whole log is entry 1: node 3 then holds every committed entry.
    net.raft(3).step(message({ type: 'append', from: 1, to: 3, term: leader.term + 1, index: 1, logTerm: matchedTerm, commit: 1, rejectHint: 1 }));
    expect(net.raft(3).faultyTail()).toBeNull();
  });

  it('an idle leader probes a follower that restarted: it learns the commit again, or gets back what it lost', () => {
    const net = electedNet(3, { quiesce: true });
    for (const s of ['a', 'b', 'c']) net.propose(1, s);
    net.tick(QUIESCE_IDLE_HEARTBEATS * HEARTBEAT_TICKS + ELECTION_TICKS);
    expect(net.raft(1).isQuiesced()).toBe(true);
    const last = net.raft(1).status().lastIndex;
    // Node 2 restarts with its log intact but without the commit (the node persists no commit-only
    // change). The node layer wakes the partition on its new incarnation; heartbeats alone never
    // vouch for its log, so it would not learn the commit until the next proposal.
    const hs = net.node(2).storage.hardState();
    net.node(2).storage = new MemoryRaftStorage({ hardState: { ...hs, commit: 0 }, entries: net.log(2) });
    net.restart(2);
    net.raft(1).wake();
    net.tick(3 * ELECTION_TICKS);
    expect(net.raft(2).status().commit).toBe(0);
    expect(net.raft(1).status().progress?.get(2)?.match).toBe(last);
    // Told it restarted, the leader probes at its end: the answer vouches for the log, and the next
    // heartbeat carries the commit.
    net.raft(1).peerRestarted(2);
    net.tick(2);
    expect(net.raft(2).status().commit).toBe(last);
    expect(net.raft(1).status().progress?.get(2)).toMatchObject({ match: last, state: 'replicate' });
    // One whose recovery cut acknowledged entries (a faulty tail) rejects the probe and gets them back.
    const tail = loseTail(net, 3, 1);
    net.raft(1).peerRestarted(3);
    net.tick(2);
    expect(net.log(3)).toEqual(net.log(1));
    expect(net.raft(3).faultyTail()).toBeNull();
    expect(net.raft(1).status().progress?.get(3)).toMatchObject({ match: tail.lastIndex, state: 'replicate' });
  });

  it('a leader repairs a faulty follower: the follower gets its entries back and may campaign again', () => {
    const net = electedNet(3, { checkQuorum: false });
    for (const s of ['a', 'b', 'c']) net.propose(1, s);
    net.tick(1);
    loseTail(net, 2, 2);
    net.tick(3);
    expect(net.log(2)).toEqual(net.log(1));
    expect(net.raft(2).faultyTail()).toBeNull();
    // Repaired, it is promotable again: alone with node 3 it can become leader.
    net.isolate(1);
    net.campaign(2);
    expect(net.raft(2).status().role).toBe('leader');
  });

  it('peers that hold the entry answer "have"; a tail is discarded only on a majority of "don\'t have"', () => {
    const net = electedNet(3, { checkQuorum: false });
    net.propose(1, 'a');
    net.tick(1);
    // Entries 3-4 reach only node 1's own log (its followers are cut off), never committed.
    net.isolate(2);
    net.isolate(3);
    net.propose(1, 'x');
    net.propose(1, 'y');
    expect(net.log(1).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(net.raft(1).status().commit).toBe(2);
    net.heal();
    net.isolate(1);
    const tail = loseTail(net, 1, 2);
    net.heal();
    // Its peers hold entries up to 2 only: asked about entry 3, both answer "don't have" (a majority).
    const answers: Message[] = [];
    net.filter = (m) => {
      if (m.type === 'faultQueryResp') answers.push(m);
      return m;
    };
    net.tick(1, [1]);
    expect(answers.map((m) => m.rejectHint).sort()).toEqual([1, 1]);
    expect(net.raft(1).faultyTail()).toBeNull();
    expect(tail.firstIndex).toBe(3);
  });

  it('a "have" answer keeps the tail, from an abstaining peer too, and so does a peer that does not answer', () => {
    const net = electedNet(3, { checkQuorum: false });
    for (const s of ['a', 'b']) net.propose(1, s);
    net.tick(1);
    // Entry 4 is committed (nodes 1 and 2 hold it); node 3 never got it.
    net.isolate(3);
    net.propose(1, 'c');
    net.tick(1);
    expect(net.raft(1).status().commit).toBe(4);
    net.heal();
    const tail = loseTail(net, 1, 3);
    expect(tail.firstIndex).toBe(4);
    const answers = new Map<NodeId, number>();
    net.filter = (m) => {
      if (m.type === 'faultQueryResp' && m.to === 1) answers.set(m.from, m.rejectHint);
      // Keep node 1 from being repaired by a leader: only the fault queries pass.
      return m.type === 'faultQuery' || m.type === 'faultQueryResp' ? m : null;
    };
    net.tick(ELECTION_TICKS, [1]);
    expect(answers.get(2)).toBe(FAULT_ANSWER_HAVE);
    expect(answers.get(3)).toBe(FAULT_ANSWER_DONT_HAVE);
    expect(net.raft(1).faultyTail()).toEqual(tail);
    // Node 2 holds the entry faulty itself and node 3 is down: one answer is missing.
    const intactTwo = net.node(2).storage;
    loseTail(net, 2, 3);
    net.isolate(3);
    answers.clear();
    net.tick(2 * ELECTION_TICKS, [1]);
    expect(answers.get(2)).toBe(FAULT_ANSWER_HAVE_FAULTY);
    expect(answers.has(3)).toBe(false);
    expect(net.raft(1).faultyTail()).toEqual(tail);
    // Node 2 abstains instead (it lost entries no identifier named, elsewhere) and holds the entry
    // intact: it says so, though it does not vote.
    net.heal();
    net.node(2).storage = intactTwo;
    net.restart(2, { abstainFromVoting: true });
    answers.clear();
    net.tick(ELECTION_TICKS, [1]);
    expect(answers.get(2)).toBe(FAULT_ANSWER_HAVE);
    expect(answers.get(3)).toBe(FAULT_ANSWER_DONT_HAVE);
    expect(net.raft(1).faultyTail()).toEqual(tail);
  });

  it('a leader\'s last entry torn by a crash, whose one other copy went with a wiped follower ("cannot tell"), is discarded: the partition elects again and keeps what was committed (seed 990 136)', () => {
    const net = electedNet(3, { checkQuorum: false });
    for (const s of ['a', 'b']) net.propose(1, s);
    net.tick(COMMIT_REACHES_FOLLOWERS_TICKS);
    expect(net.raft(3).status().commit).toBe(3);
    // Entry 4 reaches node 2 only, and its answer never comes back: not committed.
    net.isolate(3);
    net.filter = (m) => (m.type === 'appendResp' && m.from === 2 ? null : m);
    net.propose(1, 'c');
    net.tick(1);
    expect(net.log(2).map((e) => e.index)).toContain(4);
    expect(net.raft(1).status().commit).toBe(3);
    net.filter = null;
    // Node 1 crashes with entry 4's record torn and its identifier written: a faulty tail. Node 2's
    // disk is replaced: no log, abstaining. Node 3 never had entry 4.
    const tail = loseTail(net, 1, 3);
    expect(tail.firstIndex).toBe(4);
    net.node(2).storage = new MemoryRaftStorage({ hardState: { term: 0, vote: 0, commit: 0 }, entries: [] });
    net.restart(2, { abstainFromVoting: true });
    net.heal();
    const answers = new Map<NodeId, number>();
    net.filter = (m) => {
      if (m.type === 'faultQueryResp' && m.to === 1) answers.set(m.from, m.rejectHint);
      return m;
    };
    net.tick(4 * ELECTION_TICKS);
    expect(answers.get(2)).toBe(FAULT_ANSWER_CANNOT_TELL);
    expect(answers.get(3)).toBe(FAULT_ANSWER_DONT_HAVE);
    expect(net.raft(1).faultyTailRepair()).toBe('discarded');
    // Before, the tail waited for an answer that could never come: no leader could be elected
    // (node 2 abstains, node 1 would not campaign, node 3 could not win node 1's vote).
    const leader = net.leaderAmong();
    expect(leader).toBeDefined();
    net.propose(leader!, 'd');
    net.tick(COMMIT_REACHES_FOLLOWERS_TICKS);
    for (const id of [1, 2, 3] as const) expect(net.log(id).slice(0, 3).map((e) => e.index), `node ${id}`).toEqual([1, 2, 3]);
    expect(net.raft(leader!).status().commit).toBeGreaterThan(3);
  });

  it('two faulty replicas that each lost a different record and kept the rest aside fill each other\'s hole from a peer, with no leader, and lose nothing', () => {
    const net = electedNet(3, { checkQuorum: false });
    net.propose(1, 'a');
    net.tick(1);
    // Node 3 is cut off at entry 2; nodes 1 and 2 commit entries 3-8 without it.
    net.isolate(3);
    for (const s of ['b', 'c', 'd', 'e', 'f', 'g']) net.propose(1, s);
    net.tick(1);
    const committed = net.log(1);
    expect(committed.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(net.raft(1).status().commit).toBe(8);
    expect(net.log(3).map((e) => e.index)).toEqual([1, 2]);
    // A byte rots in node 1's record of entries 4-5, and in node 2's of entries 6-7. Each log ends
    // before its lost record (a log has no hole); what followed it was read back intact and kept aside.
    const rot = (id: NodeId, first: number, last: number): void => {
      const log = net.log(id);
      const lost = log.filter((e) => e.index >= first && e.index <= last);
      const tailEnd = log[log.length - 1]!;
      const hole = { firstIndex: first, firstTerm: lost[0]!.term, lastIndex: last, lastTerm: lost[lost.length - 1]!.term };
      const same = (a: readonly Entry[], b: readonly Entry[]): boolean => a.length === b.length && a.every((e, i) => e.index === b[i]!.index && e.term === b[i]!.term && e.offset === b[i]!.offset && e.count === b[i]!.count && Buffer.from(e.data).equals(Buffer.from(b[i]!.data)));
      const hs = net.node(id).storage.hardState();
      net.node(id).storage = new MemoryRaftStorage({ hardState: hs, entries: log.filter((e) => e.index < first) });
      net.restart(id, {
        faultyTail: { firstIndex: first, firstTerm: hole.firstTerm, lastIndex: tailEnd.index, lastTerm: tailEnd.term },
        setAside: { hole, entries: log.filter((e) => e.index > last), matchesHole: (entries) => same(entries, lost) },
      });
    };
    rot(1, 4, 5);
    rot(2, 6, 7);
    net.heal();
    // Dropping what followed each lost record would leave entries 6-8 (committed) on no replica, and
    // node 2 would be elected with a log ending at 5. Here only the fault queries and their answers
    // pass: each faulty replica gets its lost record from the other, who holds it intact.
    const sent: Message[] = [];
    net.filter = (m) => {
      if (m.type === 'faultQueryResp' && m.entries.length > 0) sent.push(m);
      return m.type === 'faultQuery' || m.type === 'faultQueryResp' ? m : null;
    };
    net.tick(2 * ELECTION_TICKS, [1, 2]);
    expect(sent.map((m) => [m.from, m.to, m.entries.map((e) => e.index)])).toEqual(expect.arrayContaining([
      [2, 1, [4, 5]],
      [1, 2, [6, 7]],
    ]));
    expect([1, 2].map((id) => net.raft(id).faultyTail())).toEqual([null, null]);
    expect(net.log(1)).toEqual(committed);
    expect(net.log(2)).toEqual(committed);
    // Whole again, they elect a leader that holds every committed entry, and node 3 catches up.
    net.filter = null;
    net.tick(5 * ELECTION_TICKS);
    const leader = net.agreedLeader();
    expect(leader === 1 || leader === 2).toBe(true);
    net.propose(leader!, 'h');
    net.tick(COMMIT_REACHES_FOLLOWERS_TICKS);
    for (const id of [1, 2, 3]) expect(net.log(id).slice(0, 8)).toEqual(committed);
    expect(net.raft(3).status().commit).toBe(net.log(leader!).length);
  });

  it('a peer\'s entries that are not the lost record (another term, or other bytes) are not taken', () => {
    const net = electedNet(3, { checkQuorum: false });
    for (const s of ['a', 'b', 'c']) net.propose(1, s);
    net.tick(1);
    const log = net.log(3);
    const hs = net.node(3).storage.hardState();
    net.node(3).storage = new MemoryRaftStorage({ hardState: hs, entries: log.filter((e) => e.index < 3) });
    const hole = { firstIndex: 3, firstTerm: log[2]!.term, lastIndex: 3, lastTerm: log[2]!.term };
    // The lost record's CRC says no to whatever is offered.
    net.restart(3, { faultyTail: { firstIndex: 3, firstTerm: hole.firstTerm, lastIndex: 4, lastTerm: log[3]!.term }, setAside: { hole, entries: [log[3]!], matchesHole: () => false } });
    net.filter = (m) => (m.type === 'faultQuery' || m.type === 'faultQueryResp' ? m : null);
    net.tick(2 * ELECTION_TICKS, [3]);
    expect(net.raft(3).faultyTail()).not.toBeNull();
    expect(net.log(3).map((e) => e.index)).toEqual([1, 2]);
    // A leader repairs it instead, as before.
    net.filter = null;
    net.tick(3);
    expect(net.log(3)).toEqual(net.log(1));
    expect(net.raft(3).faultyTail()).toBeNull();
  });

  it('every other replica answered and none holds the entry intact: the tail is discarded, and a leader is elected again', () => {
    // A power cut of the whole cluster tore entry 4 on every node after its identifier was written
    // (records and identifiers share a flush): all three recover it as faulty. It was never committed:
    // a committed entry is durable on a majority, and a crash damages nothing durable.
    const net = electedNet(3, { checkQuorum: false });
    for (const s of ['a', 'b']) net.propose(1, s);
    net.tick(1);
    // Entry 4 reaches every log, but no acknowledgement reaches the leader: it is not committed.
    net.filter = (m) => (m.type === 'appendResp' ? null : m);
    net.propose(1, 'c');
    net.tick(1);
    expect(net.log(3).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(net.raft(1).status().commit).toBe(3);
    net.filter = null;
    const tails = [1, 2, 3].map((id) => loseTail(net, id, 3));
    expect(tails.every((t) => t.firstIndex === 4)).toBe(true);
    // None may campaign while faulty; only "have faulty" answers come back, from everyone.
    net.tick(5 * ELECTION_TICKS);
    expect([1, 2, 3].map((id) => net.raft(id).faultyTail())).toEqual([null, null, null]);
    const leader = [1, 2, 3].find((id) => net.raft(id).status().role === 'leader');
    expect(leader).toBeDefined();
    net.propose(leader!, 'd');
    net.tick(COMMIT_REACHES_FOLLOWERS_TICKS);
    const log = net.log(leader!);
    expect(log.length).toBeGreaterThan(4);
    expect(net.raft(leader!).status().commit).toBe(log[log.length - 1]!.index);
    for (const id of [1, 2, 3]) expect(net.log(id)).toEqual(log);
  });
});

// Sweep more seeds / harsher networks: RAFT_SEEDS=2000 RAFT_SEED_BASE=1 RAFT_DROP=0.3 RAFT_DUP=0.2 npx vitest run packages/log-cluster/src/raft
describe('Raft under chaos', () => {
  const seeds = process.env.RAFT_SEEDS ? Array.from({ length: Number(process.env.RAFT_SEEDS) }, (_, i) => i + Number(process.env.RAFT_SEED_BASE ?? 1)) : [1, 2, 3, 4, 5, 6, 7, 8];
  for (const seed of seeds) {
    it(`keeps one leader per term and agreeing committed logs with loss, duplication, reordering, crashes and retention (seed ${seed})`, () => {
      const rng = seededRandom(seed);
      // Seeds cycle through the pre-vote / check-quorum combinations.
      const net = new Net(5, { maxBytesPerMessage: 16, maxInflightMessages: 3, maxInflightBytes: seed % 3 === 0 ? 20 : 0, preVote: seed % 2 === 0, checkQuorum: seed % 4 < 2 });
      net.chaos = { rng, drop: Number(process.env.RAFT_DROP ?? 0.1), duplicate: Number(process.env.RAFT_DUP ?? 0.05) };
      let proposed = 0;
      for (let step = 0; step < 600; step++) {
        const roll = rng();
        const id = net.ids[Math.floor(rng() * net.ids.length)] ?? 1;
        if (roll < 0.01) {
          // Corruption: the tail (possibly acknowledged, committed entries) is lost. One replica at a
          // time, as losing a committed entry on a majority is unrecoverable by any protocol.
          if (net.ids.every((i) => !net.raft(i).abstainingFromVotes())) {
            const s = net.node(id).storage;
            const keep = Math.floor(rng() * (s.lastIndex() - s.snapshot().index + 1));
            net.node(id).storage = new MemoryRaftStorage({
              hardState: s.hardState(),
              snapshot: s.snapshot(),
              entries: net.log(id).slice(0, keep),
            });
            net.restart(id, { abstainFromVoting: true });
          }
        } else if (roll < 0.02) {
          net.restart(id);
        } else if (roll < 0.04) {
          net.isolate(id);
        } else if (roll < 0.06) {
          net.heal();
        } else if (roll < 0.08) {
          const st = net.raft(id).status();
          net.node(id).storage.compact(Math.min(st.commit, net.node(id).storage.lastIndex()));
        } else if (roll < 0.09) {
          const leader = net.leaderAmong();
          if (leader !== undefined) net.raft(leader).transferLeadership(id);
        } else if (roll < 0.4) {
          const leader = net.leaderAmong();
          if (leader !== undefined && net.raft(leader).propose(new Uint8Array(Math.floor(rng() * 20)), 1 + proposed % 3).ok) {
            proposed++;
          }
        }
        net.tick(1);
      }
      // Calm down: a healed, lossless network must converge (election timeouts still randomized).
      net.heal();
      net.chaos.drop = 0;
      net.chaos.duplicate = 0;
      // Converge: an agreed leader commits a final entry on every replica. Without pre-vote a node that
      // rejoins with an expired timer may still force one more election, so allow several rounds.
      let finalIndex = 0;
      const converged = (): boolean => {
        const l = net.agreedLeader();
        if (l === undefined || finalIndex === 0) return false;
        const st = net.raft(l).status();
        return net.ids.every((id) => {
          const s = net.raft(id).status();
          return s.commit === st.commit && s.commit >= finalIndex && net.raft(id).lastOffsetEnd() === net.raft(l).lastOffsetEnd();
        });
      };
      for (let i = 0; i < 50 * ELECTION_TICKS && !converged(); i++) {
        const l = net.agreedLeader();
        if (l !== undefined && finalIndex === 0) {
          const r = net.raft(l).propose(new TextEncoder().encode('final'), 1);
          if (r.ok) finalIndex = r.index;
        }
        net.tick(1);
      }
      expect(converged(), `seed ${seed}: did not converge after healing`).toBe(true);
      expect(net.committedEverywhere.has(finalIndex)).toBe(true);
    });
  }
});

describe('Raft quiescence', () => {
  // Idle heartbeat intervals, plus a check-quorum window (it clears the followers' recent activity).
  const IDLE_TICKS = QUIESCE_IDLE_HEARTBEATS * HEARTBEAT_TICKS + ELECTION_TICKS;

  function quiescedNet(): Net {
    const net = electedNet(3, { quiesce: true });
    net.propose(1, 'a');
    net.tick(IDLE_TICKS);
    for (const id of net.ids) expect(net.raft(id).isQuiesced(), `replica ${id} quiesced`).toBe(true);
    return net;
  }

  it('an idle partition with every follower caught up stops heartbeating and holds no elections', () => {
    const net = quiescedNet();
    const term = net.raft(1).status().term;
    for (let i = 0; i < 5 * ELECTION_TICKS; i++) {
      for (const id of net.ids) {
        net.raft(id).tick();
        expect(net.raft(id).hasReady(), `replica ${id} has nothing to send while quiesced`).toBe(false);
      }
    }
    for (const id of net.ids) expect(net.raft(id).status()).toMatchObject({ term, leader: 1 });
  });

  it('a proposal wakes a quiesced partition and commits on every replica', () => {
    const net = quiescedNet();
    net.propose(1, 'b');
    for (const id of net.ids) expect(net.raft(id).isQuiesced()).toBe(false);
    const last = net.raft(1).status().lastIndex;
    expect(net.raft(1).status().commit).toBe(last);
    net.tick(COMMIT_REACHES_FOLLOWERS_TICKS);
    for (const id of net.ids) expect(net.raft(id).status().commit).toBe(last);
    expect(new TextDecoder().decode(net.log(3).at(-1)?.data)).toBe('b');
  });

  it('when a quiesced leader dies, followers woken by node liveness elect a new leader', () => {
    const net = quiescedNet();
    const term = net.raft(1).status().term;
    net.isolate(1);
    net.tick(5 * ELECTION_TICKS, [2, 3]);
    // Quiesced followers do not notice on their own: that is what the node's liveness is for.
    expect(net.raft(2).status()).toMatchObject({ term, leader: 1 });
    net.raft(2).wake();
    net.raft(3).wake();
    net.tick(3 * ELECTION_TICKS, [2, 3]);
    const leader = net.leaderAmong([2, 3]);
    expect(leader).toBeDefined();
    expect(net.raft(leader ?? 0).status().term).toBeGreaterThan(term);
    net.propose(leader ?? 0, 'after failover');
    expect(net.raft(leader ?? 0).status().commit).toBe(net.raft(leader ?? 0).status().lastIndex);
  });

  it('a follower that missed the quiesce heartbeat wakes the leader when it campaigns, and the leader keeps its term', () => {
    const net = electedNet(3, { quiesce: true });
    net.propose(1, 'a');
    net.filter = (m) => (m.type === 'heartbeat' && m.to === 3 && m.logTerm === QUIESCE_HEARTBEAT ? null : m);
    net.tick(IDLE_TICKS);
    expect(net.raft(1).isQuiesced()).toBe(true);
    expect(net.raft(3).isQuiesced()).toBe(false);
    net.filter = null;
    const term = net.raft(1).status().term;
    net.tick(3 * ELECTION_TICKS);
    for (const id of net.ids) expect(net.raft(id).status()).toMatchObject({ term, leader: 1 });
  });
});

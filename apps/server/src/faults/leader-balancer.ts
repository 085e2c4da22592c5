// Leadership placement done by the cluster's console itself, as Kafka's controller does with
// `auto.leader.rebalance.enable` and CockroachDB with a draining node's leases:
//
// - A node that comes back (a restart, or the end of a drain) gets back the leaderships it
//   prefers once it has been up for a settle time: until then a crash loop or a node still
//   replaying its log would only take leaders to lose them again. Leadership is handed over by
//   raft's transfer (the target must hold the leader's whole log first), not by an election.
// - A drained node (a slow disk waiting for replacement, a host about to be patched) leads
//   nothing while another replica can: its leaderships move away at once, and again whenever an
//   election hands it one, until it is undrained. Its replicas campaign only after the others had
//   their chance (FaultSurface.deferCampaigns), so elections seldom do. It stays a follower and
//   keeps its copies.
//
// Only returns and drains move leadership: an operator's manual transfer stays where it was put
// until a node returns. A running drill holds the return of restarted nodes (its checks are about
// its own fault, and its own steps restart nodes); what it asks for, a drain or an undrain, still
// happens, and held returns go ahead when it ends. Each round that moves something lands in the
// audit trail as `system`.

import type { AuditTrail } from '../auth.ts';
import type { ClusterHandle } from '../services.ts';

export const REBALANCE_ACTION = 'cluster.rebalance';
/** How long a returned node must stay up before it is handed leaderships back (the default). */
export const REBALANCE_SETTLE_MS = 10_000;
/** Transfers asked in one round: a node returning to hundreds of partitions takes them a few at a time. */
export const REBALANCE_MOVES_PER_ROUND = 16;
/** A transfer not seen done after this long is asked again (an aborted transfer lasts one election timeout). */
const TRANSFER_RETRY_MS = 3_000;
/** A return whose plan has not shrunk for this long is given up (and audited): something keeps leadership where it is. */
const RETURN_GIVE_UP_MS = 60_000;

export interface LeaderBalancerOptions {
  /** A returned node waits this long, up all along, before leaderships move back to it; 0 turns automatic rebalancing off (drains still move). */
  settleMs?: number;
  movesPerRound?: number;
  now?: () => number;
}

export interface PreferredLeader {
  partition: number;
  /** 0 when the partition has no leader. */
  leader: number;
  preferred: number;
}

export interface LeaderMove {
  partition: number;
  from: number;
  to: number;
}

export interface BalancerStatus {
  /** Whether returned nodes get their leaderships back by themselves. */
  auto: boolean;
  settleMs: number;
  drained: number[];
  /** Returned (or undrained) nodes waiting to settle or to be handed their leaderships back. */
  returning: { node: number; reason: string; settlesAtMs: number }[];
  /** What holds the return of restarted nodes now (a running drill), if anything. */
  heldBy: string[];
  /** The last round that moved leadership (or failed to), if any. */
  last: { atMs: number; reason: string; moves: LeaderMove[]; errors: string[] } | null;
}

export class LeaderBalancer {
  /** Drained nodes, each with who drained it (the console's Faults page, a drill run): drained while anyone holds it. */
  private readonly drained = new Map<number, Set<string>>();
  /** Since when each up node has been up, as this balancer saw it. */
  private readonly upSince = new Map<number, number>();
  /** `progressAtMs`: when its plan last shrank (or it settled); `planLeft`: the plan's length then. */
  private readonly returning = new Map<number, { reason: string; restarted: boolean; progressAtMs: number | null; planLeft: number }>();
  private readonly holds = new Map<number, string>();
  private nextHold = 1;
  private readonly asked = new Map<number, { to: number; atMs: number }>();
  private last: BalancerStatus['last'] = null;
  private seen = false;
  private running: Promise<void> | null = null;
  readonly settleMs: number;
  private readonly movesPerRound: number;
  private readonly now: () => number;

  constructor(private readonly cluster: ClusterHandle, private readonly audit: AuditTrail | null, options: LeaderBalancerOptions = {}) {
    this.settleMs = options.settleMs ?? REBALANCE_SETTLE_MS;
    this.movesPerRound = options.movesPerRound ?? REBALANCE_MOVES_PER_ROUND;
    this.now = options.now ?? Date.now;
  }

  get auto(): boolean {
    return this.settleMs > 0;
  }

  status(): BalancerStatus {
    return {
      auto: this.auto,
      settleMs: this.settleMs,
      drained: [...this.drained.keys()].sort((a, b) => a - b),
      returning: [...this.returning].map(([node, r]) => ({ node, reason: r.reason, settlesAtMs: (this.upSince.get(node) ?? this.now()) + this.settleMs })),
      heldBy: [...this.holds.values()],
      last: this.last === null ? null : structuredClone(this.last),
    };
  }

  /** Restarted nodes get no leadership back until the returned function is called (drains and undrains still act). */
  hold(reason: string): () => void {
    const id = this.nextHold++;
    this.holds.set(id, reason);
    return () => {
      this.holds.delete(id);
    };
  }

  isDrained(node: number): boolean {
    return this.drained.has(node);
  }

  /**
   * Per partition, its preferred leader: the (partition mod n)-th of its n candidate replicas (up,
   * not drained; with `settledOnly`, up for the settle time too). Replica sets are listed in node
   * order, so rotating by partition spreads leaders evenly over the candidates.
   */
  preferredLeaders(options: { settledOnly?: boolean } = {}): PreferredLeader[] {
    const candidates = this.candidates(options.settledOnly === true);
    const out: PreferredLeader[] = [];
    for (let p = 0; p < this.cluster.partitionCount; p++) {
      const live = this.cluster.replicasOf(p).filter((r) => candidates.has(r));
      const preferred = live[p % Math.max(1, live.length)];
      if (preferred !== undefined) out.push({ partition: p, leader: this.cluster.leaderOf(p), preferred });
    }
    return out;
  }

  /** Where each partition the node leads would go if it were drained now (to: null when no other replica can lead it). */
  drainPlan(node: number): { partition: number; to: number | null }[] {
    const candidates = this.candidates(false, node);
    const out: { partition: number; to: number | null }[] = [];
    for (let p = 0; p < this.cluster.partitionCount; p++) {
      if (this.cluster.leaderOf(p) !== node) continue;
      out.push({ partition: p, to: this.targetFor(p, candidates) });
    }
    return out;
  }

  /**
   * The node leads nothing from now on while another replica can; its leaderships move at once.
   * `by` names who drains it: it stays drained until everyone who drained it has undrained it.
   */
  async drain(node: number, by: string): Promise<void> {
    let owners = this.drained.get(node);
    if (owners === undefined) this.drained.set(node, (owners = new Set()));
    owners.add(by);
    this.returning.delete(node);
    await this.poll();
  }

  /** `by` lets the node lead again; once nobody holds it drained, it gets its preferred leaderships back (at once if it has been up for the settle time). */
  async undrain(node: number, by: string): Promise<void> {
    const owners = this.drained.get(node);
    if (owners === undefined || !owners.delete(by) || owners.size > 0) return;
    this.drained.delete(node);
    if (this.auto) this.returning.set(node, { reason: `node ${node} undrained`, restarted: false, progressAtMs: null, planLeft: Infinity });
    await this.poll();
  }

  /** One round (called on every scrape tick; rounds never overlap). */
  poll(): Promise<void> {
    if (this.running !== null) return this.running;
    this.running = this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async round(): Promise<void> {
    const now = this.now();
    for (const h of this.cluster.health()) {
      if (!h.up) {
        this.upSince.delete(h.node);
        this.returning.delete(h.node);
        continue;
      }
      if (this.upSince.has(h.node)) continue;
      this.upSince.set(h.node, now);
      // Nodes up when the console started are not returns: the cluster placed its leaders itself.
      if (this.seen && this.auto && !this.drained.has(h.node)) this.returning.set(h.node, { reason: `node ${h.node} restarted`, restarted: true, progressAtMs: null, planLeft: Infinity });
    }
    this.seen = true;
    await this.deferCampaignsOfDrained();

    const moves: LeaderMove[] = [];
    const reasons: string[] = [];
    // A drained node leads nothing while another replica can (an election may have handed it one).
    const anyCandidates = this.candidates(false);
    for (let p = 0; p < this.cluster.partitionCount && moves.length < this.movesPerRound; p++) {
      const leader = this.cluster.leaderOf(p);
      if (!this.drained.has(leader)) continue;
      const to = this.targetFor(p, anyCandidates);
      if (to !== null && this.shouldAsk(p, to, now)) moves.push({ partition: p, from: leader, to });
    }
    if (moves.length > 0) reasons.push(`node ${[...new Set(moves.map((m) => m.from))].join(', ')} drained`);

    // Settled returns: every partition to its preferred leader among the settled candidates.
    const held = this.holds.size > 0;
    const settled = [...this.returning].filter(([node, r]) => !(held && r.restarted) && now - (this.upSince.get(node) ?? now) >= this.settleMs);
    const gaveUp: string[] = [];
    if (settled.length > 0) {
      const plan = this.preferredLeaders({ settledOnly: true }).filter((x) => x.leader !== 0 && x.leader !== x.preferred && !this.drained.has(x.leader));
      // Hundreds of partitions take many rounds: only a plan that stops shrinking is given up.
      for (const [, r] of settled) {
        if (plan.length < r.planLeft) {
          r.planLeft = plan.length;
          r.progressAtMs = now;
        }
      }
      if (plan.length === 0) {
        for (const [node] of settled) this.returning.delete(node);
      } else {
        const before = moves.length;
        for (const x of plan) {
          if (moves.length >= this.movesPerRound) break;
          if (this.shouldAsk(x.partition, x.preferred, now)) moves.push({ partition: x.partition, from: x.leader, to: x.preferred });
        }
        if (moves.length > before) reasons.push(settled.map(([, r]) => r.reason).join(', '));
        for (const [node, r] of settled) {
          if (r.progressAtMs !== null && now - r.progressAtMs >= RETURN_GIVE_UP_MS) {
            this.returning.delete(node);
            gaveUp.push(`${r.reason}: ${plan.length} partition(s) still not on their preferred leader, none moved in ${RETURN_GIVE_UP_MS / 1000} s (${plan.slice(0, 8).map((x) => `p${x.partition} on node ${x.leader}, prefers node ${x.preferred}`).join('; ')})`);
          }
        }
      }
    }
    if (moves.length === 0 && gaveUp.length === 0) return;

    const errors: string[] = [...gaveUp];
    for (const m of moves) {
      this.asked.set(m.partition, { to: m.to, atMs: now });
      try {
        await this.cluster.transferLeadership(m.partition, m.to);
      } catch (error) {
        errors.push(`p${m.partition} ${m.from}→${m.to}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const reason = reasons.join('; ') || 'rebalance given up';
    this.last = { atMs: now, reason, moves, errors };
    const moved = moves.map((m) => `p${m.partition} ${m.from}→${m.to}`).join(', ');
    await this.audit?.append({
      timeMs: now,
      role: 'system',
      action: REBALANCE_ACTION,
      input: { reason, moves },
      outcome: errors.length === 0 ? 'ok' : 'error',
      message: `${reason}: ${moves.length === 0 ? 'no transfer asked' : `leadership transfers to the preferred replicas (${moved})`}${errors.length === 0 ? '' : `; failed: ${errors.join('; ')}`}`,
    }).catch((error: unknown) => console.error(`audit: rebalance not recorded: ${error instanceof Error ? error.message : String(error)}`));
  }

  /**
   * A drained node's replicas let the others win elections first, so an election after a crash
   * rarely hands it a leadership for the next round to move away. Said to every drained node that
   * is up and does not have it yet (a node process forgets it when it restarts), and taken back
   * from the undrained.
   */
  private async deferCampaignsOfDrained(): Promise<void> {
    for (const h of this.cluster.health()) {
      const want = this.drained.has(h.node);
      if (!h.up || h.campaignsDeferred === want) continue;
      try {
        await this.cluster.deferCampaigns(h.node, want);
      } catch (error) {
        // The next round asks again: a node that does not answer now is likely down.
        console.error(`leader balancer: node ${h.node}'s campaigns not ${want ? 'deferred' : 'restored'}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  /** Up, not drained nor `alsoDrained` (and up for the settle time, with `settledOnly`). */
  private candidates(settledOnly: boolean, alsoDrained: number | null = null): Set<number> {
    const now = this.now();
    const out = new Set<number>();
    for (const h of this.cluster.health()) {
      if (!h.up || this.drained.has(h.node) || h.node === alsoDrained) continue;
      // Before the first round, every up node counts as settled (the console just started).
      const since = this.upSince.get(h.node);
      if (settledOnly && since !== undefined && now - since < this.settleMs) continue;
      out.add(h.node);
    }
    return out;
  }

  /** The preferred candidate of the partition's replicas (null when none can lead it). */
  private targetFor(partition: number, candidates: ReadonlySet<number>): number | null {
    const live = this.cluster.replicasOf(partition).filter((r) => candidates.has(r));
    return live[partition % Math.max(1, live.length)] ?? null;
  }

  /** Not the same transfer again before the last one had time to finish. */
  private shouldAsk(partition: number, to: number, now: number): boolean {
    const asked = this.asked.get(partition);
    return asked === undefined || asked.to !== to || now - asked.atMs >= TRANSFER_RETRY_MS;
  }
}

import type { Scheduler } from '../clock.ts';
import type { PartitionMessage, Transport } from '../protocol.ts';
import type { NodeId } from '../raft/types.ts';

/** Faults on the directed link source → target. */
export interface LinkFaults {
  cut: boolean;
  delayMs: number;
  /** Extra uniformly random delay in [0, jitterMs): reorders messages, as real networks do. */
  jitterMs: number;
  /** Probability in [0, 1] that an envelope is dropped. */
  lossRate: number;
}

const HEALTHY: LinkFaults = { cut: false, delayMs: 0, jitterMs: 0, lossRate: 0 };

/**
 * The in-process network: nodes of one process (the embedded default and the simulator)
 * exchange envelopes through the scheduler, with per-link delay, jitter, loss and cuts.
 * Message objects are handed over as they are: entries are immutable once proposed.
 */
export class InProcessNetwork {
  private readonly handlers = new Map<NodeId, (from: NodeId, messages: readonly PartitionMessage[]) => void>();
  private readonly links = new Map<string, LinkFaults>();
  envelopesSent = 0;
  envelopesDropped = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: () => number,
  ) {}

  /** A node's endpoint. Re-attaching (after a restart) replaces the old one. */
  attach(node: NodeId): Transport {
    let closed = false;
    return {
      send: (to, messages) => {
        if (closed) return;
        this.deliver(node, to, messages);
      },
      setHandler: (handler) => {
        this.handlers.set(node, (from, messages) => {
          if (!closed) handler(from, messages);
        });
      },
      close: () => {
        closed = true;
      },
    };
  }

  link(source: NodeId, target: NodeId): LinkFaults {
    return this.links.get(`${source}>${target}`) ?? HEALTHY;
  }

  setLink(source: NodeId, target: NodeId, faults: Partial<LinkFaults>): void {
    this.links.set(`${source}>${target}`, { ...this.link(source, target), ...faults });
  }

  /** Both directions. */
  setLinkBoth(a: NodeId, b: NodeId, faults: Partial<LinkFaults>): void {
    this.setLink(a, b, faults);
    this.setLink(b, a, faults);
  }

  /** Cuts every link to and from `node`. */
  isolate(node: NodeId, nodes: readonly NodeId[]): void {
    for (const other of nodes) if (other !== node) this.setLinkBoth(node, other, { cut: true });
  }

  healAll(): void {
    this.links.clear();
  }

  faultyLinks(): { source: NodeId; target: NodeId; faults: LinkFaults }[] {
    return [...this.links.entries()]
      .filter(([, faults]) => faults.cut || faults.delayMs > 0 || faults.jitterMs > 0 || faults.lossRate > 0)
      .map(([key, faults]) => {
        const [source, target] = key.split('>').map(Number);
        return { source: source ?? 0, target: target ?? 0, faults };
      });
  }

  private deliver(from: NodeId, to: NodeId, messages: readonly PartitionMessage[]): void {
    const faults = this.link(from, to);
    this.envelopesSent++;
    if (faults.cut || (faults.lossRate > 0 && this.random() < faults.lossRate)) {
      this.envelopesDropped++;
      return;
    }
    const delayMs = faults.delayMs + (faults.jitterMs > 0 ? this.random() * faults.jitterMs : 0);
    this.scheduler.setTimer(delayMs, () => this.handlers.get(to)?.(from, messages));
  }
}

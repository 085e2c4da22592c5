import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { PartitionMessage } from '../protocol.ts';
import { message } from '../raft/raft.ts';
import { TcpConnector, TcpNodeTransport, type PeerAddress } from './tcp.ts';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const thing of open.splice(0)) thing.close();
});

async function transport(id: number, peers: Map<number, PeerAddress>): Promise<TcpNodeTransport> {
  const t = await TcpNodeTransport.listen(id, peers, '127.0.0.1', peers.get(id)?.port ?? 0);
  open.push(t);
  return t;
}

/** Node 1 (a) and node 2 (b), each knowing the other's port. */
async function twoNodes(): Promise<{ a: TcpNodeTransport; b: TcpNodeTransport }> {
  const peers = new Map<number, PeerAddress>([
    [1, { host: '127.0.0.1', port: 0 }],
    [2, { host: '127.0.0.1', port: 0 }],
  ]);
  const b = await transport(2, peers);
  peers.set(2, { host: '127.0.0.1', port: b.port });
  const a = await transport(1, peers);
  return { a, b };
}

/** Deterministic bytes, so a frame cut and rejoined in the wrong place shows. */
const pattern = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

describe('TCP frames', () => {
  it('client requests of 1 B to 3 MiB, many in flight, come back intact (frames split across socket chunks)', async () => {
    const server = await transport(1, new Map([[1, { host: '127.0.0.1', port: 0 }]]));
    server.requestHandler = async (request) => {
      if (request.kind !== 'append') return { kind: 'error', error: { code: 'Unavailable', message: 'unexpected' } };
      // Echo a checksum of what arrived: the sum of every byte, and the record count.
      let sum = 0;
      for (const record of request.records) for (const byte of record) sum += byte;
      return { kind: 'append', baseOffset: sum, count: request.records.length };
    };
    const connector = new TcpConnector(new Map([[1, { host: '127.0.0.1', port: server.port }]]));
    open.push(connector);
    const sizes = [1, 17, 4096, 65_537, 1 << 20, 3 << 20, 300_000, 5];
    const results = await Promise.all(
      sizes.map(async (size, i) => {
        const records = [pattern(size, i), pattern(size >> 1, i + 1)];
        const expected = records.reduce((sum, r) => sum + r.reduce((a, b) => a + b, 0), 0);
        const response = await connector.request(1, { kind: 'append', partition: 0, producerId: 7, sequence: i, records });
        return { response, expected };
      }),
    );
    for (const { response, expected } of results) expect(response).toEqual({ kind: 'append', baseOffset: expected, count: 2 });
  });

  it('entries and records the node keeps stay intact while later frames arrive (they are views of the frame, not copies)', async () => {
    const { a, b } = await twoNodes();
    const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
    // Each kept with the digest it had on arrival; a reused or overwritten buffer changes it later.
    const kept: { data: Uint8Array; digest: string }[] = [];
    b.setHandler((_from, messages) => {
      for (const { message: m } of messages) for (const e of m.entries) kept.push({ data: e.data, digest: sha(e.data) });
    });
    b.requestHandler = async (request) => {
      if (request.kind === 'append') for (const record of request.records) kept.push({ data: record, digest: sha(record) });
      return { kind: 'append', baseOffset: 0, count: 1 };
    };
    const envelope = (n: number, size: number): PartitionMessage[] => [
      { partition: n, message: message({ type: 'append', from: 1, to: 2, term: 3, index: n, logTerm: 3, commit: n, entries: [{ index: n + 1, term: 3, offset: n, count: 1, data: pattern(size, n) }] }) },
    ];
    for (let attempt = 0; attempt < 100 && kept.length === 0; attempt++) {
      a.send(2, envelope(0, 10));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const connector = new TcpConnector(new Map([[2, { host: '127.0.0.1', port: b.port }]]));
    open.push(connector);
    // Small frames (many per socket read) and frames that span reads, interleaved.
    const requests: Promise<unknown>[] = [];
    for (let n = 1; n <= 300; n++) {
      const size = n % 10 === 0 ? 100_000 + n : 1024 + n;
      a.send(2, envelope(n, size));
      requests.push(connector.request(2, { kind: 'append', partition: 0, producerId: 1, sequence: n, records: [pattern(size, n + 7), pattern(n, n)] }));
    }
    await Promise.all(requests);
    for (let i = 0; i < 500 && kept.length < 900; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(kept.length).toBeGreaterThanOrEqual(900);
    expect(kept.filter(({ data, digest }) => sha(data) !== digest)).toEqual([]);
  });

  it('raft envelopes with large entries reach the peer unchanged, in order', async () => {
    const { a, b } = await twoNodes();
    const received: PartitionMessage[][] = [];
    b.setHandler((_from, messages) => received.push([...messages]));
    const sent: PartitionMessage[][] = [];
    const envelope = (n: number): PartitionMessage[] => [
      { partition: n, message: message({ type: 'append', from: 1, to: 2, term: 3, index: n, logTerm: 2, commit: n, entries: [{ index: n + 1, term: 3, offset: n * 10, count: 1, data: pattern(200_000 + n, n) }] }) },
      { partition: n + 100, message: message({ type: 'heartbeat', from: 1, to: 2, term: 3, commit: 9 }) },
    ];
    // The outbound connection is lazy: the first sends are dropped until it is up (raft retransmits).
    for (let attempt = 0; attempt < 100 && received.length === 0; attempt++) {
      a.send(2, envelope(0));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    received.length = 0;
    for (let n = 1; n <= 20; n++) {
      sent.push(envelope(n));
      a.send(2, envelope(n));
    }
    // Warm-up envelopes (partition 0) still in flight may land after the reset: they are not under test.
    const measured = (): PartitionMessage[][] => received.filter((envelope) => envelope[0]?.partition !== 0);
    for (let i = 0; i < 500 && measured().length < 20; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    // Compared as one digest line per envelope: a mismatch then prints 20 short lines, not 4 MB of bytes.
    const digest = (envelopes: PartitionMessage[][]): string[] =>
      envelopes.map((envelope) => envelope.map(({ partition, message: m }) => `${partition}:${m.type}:${m.index}:${m.commit}:${m.entries.map((e) => `${e.index}/${e.offset}/${e.data.length}/${createHash('sha256').update(e.data).digest('hex')}`).join(',')}`).join(' '));
    expect(digest(measured())).toEqual(digest(sent));
  });
});

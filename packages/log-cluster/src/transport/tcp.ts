import net from 'node:net';
import { allocBytes } from '../bytes.ts';
import { LogError } from '../errors.ts';
import type { ClientRequest, ClientResponse, NodeConnector, PartitionMessage, Transport } from '../protocol.ts';
import type { NodeId } from '../raft/types.ts';
import { FrameError, Reader, Writer, decodeEnvelope, decodeRequest, decodeResponse, encodeEnvelope, encodeRequest, encodeResponse, envelopeBytesEstimate, requestBytesEstimate } from './codec.ts';

/** Frames: u32 length (of what follows) | u8 type | payload. */
const FRAME_HELLO = 1;
const FRAME_RAFT = 2;
const FRAME_REQUEST = 3;
const FRAME_RESPONSE = 4;
/** A frame larger than this is a protocol error: the connection is closed. */
export const FRAME_BYTES_MAX = 64 << 20;
/** Outbound raft bytes buffered per peer while its socket is congested; past it, envelopes are dropped (raft retransmits). */
const PEER_BUFFERED_BYTES_MAX = 32 << 20;
const RECONNECT_DELAY_MS = 100;

/** How sockets are made: plain TCP by default, mutual TLS when certificates are given (transport/tls.ts). */
export interface SocketFactory {
  createServer(onConnection: (socket: net.Socket) => void): net.Server;
  connect(port: number, host: string): net.Socket;
}

export const PLAIN_SOCKETS: SocketFactory = {
  createServer: (onConnection) => net.createServer(onConnection),
  connect: (port, host) => net.connect(port, host),
};

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** `1=127.0.0.1:9001,2=127.0.0.1:9002` → Map. */
export function parsePeers(text: string): Map<NodeId, PeerAddress> {
  const peers = new Map<NodeId, PeerAddress>();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const match = /^(\d+)=([^:]+):(\d+)$/.exec(part);
    if (match === null) throw new Error(`peer ${JSON.stringify(part)} is not of the form ID=HOST:PORT`);
    peers.set(Number(match[1]), { host: match[2] ?? '', port: Number(match[3]) });
  }
  return peers;
}

function frame(type: number, write: (w: Writer) => void, sizeEstimate?: number): Uint8Array {
  const w = new Writer(sizeEstimate);
  w.u32(0);
  w.u8(type);
  write(w);
  const out = w.finish();
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(0, out.byteLength - 4, true);
  return out;
}

/**
 * Writes a frame; frames written to one socket in the same tick leave in one writev. On loopback
 * each write is a syscall that also runs the receiver's TCP input, and the receiver then wakes once
 * per segment: responses that commit together, or batches a client sends together, are one each.
 */
function writeFrame(socket: net.Socket, bytes: Uint8Array): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(uncork, socket);
  }
  socket.write(bytes);
}

function uncork(socket: net.Socket): void {
  socket.uncork();
}

/**
 * Splits a byte stream into frames. Chunks are kept in a list and joined once per frame: joining
 * on every chunk copied a large frame over and over (quadratic in its size).
 */
function onFrames(socket: net.Socket, handle: (type: number, payload: Reader) => void): void {
  const chunks: Buffer[] = [];
  let buffered = 0;
  const take = (bytes: number): Uint8Array => {
    // Fast path: the bytes sit in the first chunk.
    const first = chunks[0];
    if (first !== undefined && first.length >= bytes) {
      const out = first.subarray(0, bytes);
      if (first.length === bytes) chunks.shift();
      else chunks[0] = first.subarray(bytes);
      buffered -= bytes;
      return out;
    }
    const out = allocBytes(bytes);
    let at = 0;
    while (at < bytes) {
      const chunk = chunks[0];
      if (chunk === undefined) break;
      const n = Math.min(chunk.length, bytes - at);
      out.set(n === chunk.length ? chunk : chunk.subarray(0, n), at);
      at += n;
      if (n === chunk.length) chunks.shift();
      else chunks[0] = chunk.subarray(n);
    }
    buffered -= bytes;
    return out;
  };
  const peekLength = (): number => {
    const first = chunks[0];
    if (first !== undefined && first.length >= 4) return first.readUInt32LE(0);
    const head = Buffer.alloc(4);
    let at = 0;
    for (const chunk of chunks) {
      at += chunk.copy(head, at, 0, Math.min(chunk.length, 4 - at));
      if (at === 4) break;
    }
    return head.readUInt32LE(0);
  };
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    while (buffered >= 4) {
      const length = peekLength();
      if (length < 1 || length > FRAME_BYTES_MAX) {
        socket.destroy(new FrameError(`frame of ${length} bytes is outside 1..${FRAME_BYTES_MAX}`));
        return;
      }
      if (buffered < 4 + length) break;
      const frameBytes = take(4 + length);
      const type = frameBytes[4] ?? 0;
      const payload = new Reader(new Uint8Array(frameBytes.buffer, frameBytes.byteOffset + 5, length - 1));
      try {
        handle(type, payload);
      } catch (error) {
        socket.destroy(error instanceof Error ? error : new Error(String(error)));
        return;
      }
    }
  });
}

/**
 * A node's TCP endpoint: accepts peers (raft envelopes) and clients (requests) on one port,
 * and keeps one outbound connection per peer for its own raft traffic.
 */
export class TcpNodeTransport implements Transport {
  private handler: ((from: NodeId, messages: readonly PartitionMessage[]) => void) | null = null;
  private readonly outbound = new Map<NodeId, net.Socket | null>();
  private readonly server: net.Server;
  private closed = false;
  requestHandler: ((request: ClientRequest) => Promise<ClientResponse>) | null = null;

  private constructor(
    private readonly nodeId: NodeId,
    private readonly peers: ReadonlyMap<NodeId, PeerAddress>,
    private readonly sockets: SocketFactory,
  ) {
    this.server = sockets.createServer((socket) => this.accept(socket));
  }

  static async listen(nodeId: NodeId, peers: ReadonlyMap<NodeId, PeerAddress>, host: string, port: number, sockets: SocketFactory = PLAIN_SOCKETS): Promise<TcpNodeTransport> {
    const transport = new TcpNodeTransport(nodeId, peers, sockets);
    await new Promise<void>((resolve, reject) => {
      transport.server.once('error', reject);
      transport.server.listen(port, host, () => resolve());
    });
    return transport;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  setHandler(handler: (from: NodeId, messages: readonly PartitionMessage[]) => void): void {
    this.handler = handler;
  }

  send(to: NodeId, messages: readonly PartitionMessage[]): void {
    const socket = this.connection(to);
    if (socket === null || socket.writableLength > PEER_BUFFERED_BYTES_MAX) return;
    writeFrame(socket, frame(FRAME_RAFT, (w) => encodeEnvelope(w, this.nodeId, messages), envelopeBytesEstimate(messages)));
  }

  close(): void {
    this.closed = true;
    for (const socket of this.outbound.values()) socket?.destroy();
    this.outbound.clear();
    this.server.close();
  }

  private connection(to: NodeId): net.Socket | null {
    if (this.closed) return null;
    const existing = this.outbound.get(to);
    if (existing !== undefined) return existing;
    const address = this.peers.get(to);
    if (address === undefined) return null;
    this.outbound.set(to, null);
    const socket = this.sockets.connect(address.port, address.host);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      writeFrame(socket, frame(FRAME_HELLO, (w) => w.u32(this.nodeId)));
      this.outbound.set(to, socket);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      // Reconnect lazily after a pause; until then envelopes to this peer are dropped.
      setTimeout(() => {
        if (this.outbound.get(to) === socket || this.outbound.get(to) === null) this.outbound.delete(to);
      }, RECONNECT_DELAY_MS).unref();
    });
    socket.on('data', () => undefined);
    return null;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    let peer: NodeId = 0;
    socket.on('error', () => undefined);
    onFrames(socket, (type, payload) => {
      switch (type) {
        case FRAME_HELLO:
          peer = payload.u32();
          return;
        case FRAME_RAFT: {
          const { from, messages } = decodeEnvelope(payload);
          if (peer !== 0 && from !== peer) throw new FrameError(`peer ${peer} sent an envelope from ${from}`);
          this.handler?.(from, messages);
          return;
        }
        case FRAME_REQUEST: {
          const id = payload.u32();
          const request = decodeRequest(payload);
          const handle = this.requestHandler;
          const answer = handle === null ? Promise.resolve<ClientResponse>({ kind: 'error', error: new LogError('Unavailable', `node ${this.nodeId} is starting`).toJSON() }) : handle(request);
          void answer.then((response) => {
            if (!socket.destroyed) writeFrame(socket, frame(FRAME_RESPONSE, (w) => {
              w.u32(id);
              encodeResponse(w, response);
            }));
          });
          return;
        }
        default:
          throw new FrameError(`unknown frame type ${type}`);
      }
    });
  }
}

/** The client side over TCP: one connection per node, requests multiplexed by id. */
export class TcpConnector implements NodeConnector {
  private readonly sockets = new Map<NodeId, net.Socket>();
  private readonly pending = new Map<number, { node: NodeId; resolve: (response: ClientResponse) => void; reject: (error: Error) => void }>();
  private nextId = 1;

  constructor(
    private readonly nodes: ReadonlyMap<NodeId, PeerAddress>,
    private readonly socketFactory: SocketFactory = PLAIN_SOCKETS,
  ) {}

  nodeIds(): readonly NodeId[] {
    return [...this.nodes.keys()];
  }

  request(node: NodeId, request: ClientRequest): Promise<ClientResponse> {
    const socket = this.socket(node);
    if (socket === null) return Promise.reject(new LogError('Unavailable', `node ${node} is not in the client's node list`));
    const id = this.nextId++;
    return new Promise<ClientResponse>((resolve, reject) => {
      this.pending.set(id, { node, resolve, reject });
      writeFrame(socket, frame(FRAME_REQUEST, (w) => {
        w.u32(id);
        encodeRequest(w, request);
      }, requestBytesEstimate(request)));
    });
  }

  close(): void {
    for (const socket of this.sockets.values()) socket.destroy();
    this.sockets.clear();
  }

  private socket(node: NodeId): net.Socket | null {
    const existing = this.sockets.get(node);
    if (existing !== undefined && !existing.destroyed) return existing;
    const address = this.nodes.get(node);
    if (address === undefined) return null;
    const socket = this.socketFactory.connect(address.port, address.host);
    socket.setNoDelay(true);
    this.sockets.set(node, socket);
    const fail = (error: Error): void => {
      if (this.sockets.get(node) === socket) this.sockets.delete(node);
      for (const [id, waiter] of this.pending) {
        if (waiter.node !== node) continue;
        this.pending.delete(id);
        waiter.reject(new LogError('Unavailable', `node ${node} (${address.host}:${address.port}): ${error.message}`));
      }
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
    onFrames(socket, (type, payload) => {
      if (type !== FRAME_RESPONSE) throw new FrameError(`unexpected frame type ${type} from node ${node}`);
      const id = payload.u32();
      const waiter = this.pending.get(id);
      if (waiter === undefined) return;
      this.pending.delete(id);
      waiter.resolve(decodeResponse(payload));
    });
    return socket;
  }
}

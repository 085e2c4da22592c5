// The attached console's view of node health, against fake admin endpoints: one node that does
// not answer (a restarted node whose recovery holds its loop) and a supervisor slow to answer
// must not make the nodes that do answer read as down; nor must a node that closes pooled
// connections under the console's reads (what a server's idle close looks like to the client).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeHealth } from '../../../../packages/log-cluster/src/faults.ts';
import { RemoteCluster } from './remote-cluster.ts';

const SECRET = Buffer.from('test-secret');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A node's admin API reduced to its status, which is all the health view reads. */
function answeringNode(id: number): http.Server {
  return http.createServer((req, res) => {
    if (req.url !== '/admin/status') {
      res.writeHead(404).end();
      return;
    }
    const health: NodeHealth = { node: id, up: true, reason: null, fsyncDelayMs: 0, diskFull: false, pausedUntilMs: 0, campaignsDeferred: false };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ node: id, running: true, startedAtMs: 1, health, activeFaults: [], partitions: [] }));
  });
}

/** Answers its status on a connection's first request and destroys the connection on its second. */
function closingNode(id: number): http.Server {
  const answer = answeringNode(id);
  const requests = new WeakMap<object, number>();
  const server = http.createServer((req, res) => {
    const n = (requests.get(req.socket) ?? 0) + 1;
    requests.set(req.socket, n);
    if (n >= 2) req.socket.destroy();
    else answer.emit('request', req, res);
  });
  return server;
}

/** Accepts connections and never answers them. */
function silentNode(): http.Server {
  return http.createServer(() => undefined);
}

/** Answers its state after `delayMs` (a supervisor busy restarting a process). */
function slowSupervisor(delayMs: number): http.Server {
  return http.createServer((_req, res) => {
    setTimeout(() => res.writeHead(503).end('{}'), delayMs);
  });
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A RemoteCluster attached to `nodes` (node i + 1 at the i-th) and `supervisor`, for one describe
 * block: connected before its tests, stopped and the servers closed after.
 */
function attached(nodes: () => http.Server[], supervisor: http.Server | null, statusPollMs?: number): () => RemoteCluster {
  const servers: http.Server[] = [];
  let cluster: RemoteCluster | undefined;
  beforeAll(async () => {
    const nodeServers = nodes();
    servers.push(...nodeServers, ...(supervisor === null ? [] : [supervisor]));
    const urls = await Promise.all(nodeServers.map(listen));
    cluster = await RemoteCluster.connect({
      nodes: urls.map((metricsUrl, i) => ({ id: i + 1, address: { host: '127.0.0.1', port: 1 }, metricsUrl })),
      partitionCount: 3,
      replicationFactor: 3,
      secret: SECRET,
      tls: null,
      supervisorUrl: supervisor === null ? null : await listen(supervisor),
      ...(statusPollMs === undefined ? {} : { statusPollMs }),
    });
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
  });
  return () => {
    if (cluster === undefined) throw new Error('not connected');
    return cluster;
  };
}

describe('attached cluster health', () => {
  const cluster = attached(() => [silentNode(), answeringNode(2), answeringNode(3)], slowSupervisor(4_000));

  it('keeps the nodes that answer up while another does not answer and the supervisor is slow', async () => {
    // Each read of node 1 waits out its timeout (3 s) and, node 1 being down, each of those is
    // followed by a supervisor read that waits out its own (3 s): rounds of 6 s, past the 5 s
    // after which a status counts as not answering, when the nodes were read in rounds.
    const seen: string[] = [];
    for (let elapsedMs = 0; elapsedMs < 14_000; elapsedMs += 100) {
      const health = cluster().health();
      expect(health.find((h) => h.node === 1)?.up).toBe(false);
      for (const h of health) if (h.node !== 1 && !h.up) seen.push(`${elapsedMs} ms: node ${h.node} down (${h.reason ?? ''})`);
      await sleep(100);
    }
    expect(seen).toEqual([]);
  }, 30_000);
});

describe('attached cluster health, connections closed under the reads', () => {
  const cluster = attached(() => [closingNode(1), closingNode(2), closingNode(3)], null, 20);

  it('keeps every node up: a read on a closed pooled connection is sent again on a new one', async () => {
    const seen: string[] = [];
    for (let elapsedMs = 0; elapsedMs < 2_000; elapsedMs += 10) {
      for (const h of cluster().health()) if (!h.up) seen.push(`${elapsedMs} ms: node ${h.node} down (${h.reason ?? ''})`);
      await sleep(10);
    }
    expect(seen).toEqual([]);
  }, 30_000);
});

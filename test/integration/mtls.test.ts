import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../apps/server/src/cluster/http-client.ts';
import { RemoteCluster } from '../../apps/server/src/cluster/remote-cluster.ts';
import { LogClient } from '../../packages/log-cluster/src/client.ts';
import { realScheduler } from '../../packages/log-cluster/src/clock.ts';
import { PLAIN_SOCKETS, TcpConnector, type SocketFactory } from '../../packages/log-cluster/src/transport/tcp.ts';
import { loadTls } from '../../packages/log-cluster/src/transport/tls.ts';
import { SupervisedCluster } from '../support/supervised-cluster.ts';

/** A CA and one certificate for 127.0.0.1 (server and client use), made with Debian's openssl. */
function makeCertificates(dir: string): { certFile: string; keyFile: string; caFile: string } {
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=logscope test CA');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=logscope node');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  run('x509', '-req', '-in', 'node.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.pem', '-days', '2', '-extfile', 'ext.cnf');
  return { certFile: join(dir, 'node.pem'), keyFile: join(dir, 'node.key'), caFile: join(dir, 'ca.pem') };
}

describe('mutual TLS between nodes, clients and the console', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logscope-mtls-'));
  let cluster: SupervisedCluster;
  let remote: RemoteCluster;
  let files: { certFile: string; keyFile: string; caFile: string };

  beforeAll(async () => {
    files = makeCertificates(dir);
    cluster = await SupervisedCluster.start(join(dir, 'cluster'), ['--nodes', '3', '--partitions', '6', '--tls-cert', files.certFile, '--tls-key', files.keyFile, '--tls-ca', files.caFile]);
    remote = await RemoteCluster.fromStateFile(join(dir, 'cluster'));
  }, 120_000);

  afterAll(async () => {
    await remote?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a client with a certificate the CA signed appends and reads back over TLS', async () => {
    expect(await remote.waitForLeaders(30_000)).toBe(true);
    const client = remote.client({ appendTimeoutMs: 15_000 });
    const value = new TextEncoder().encode('over mutual TLS');
    const ack = await client.append({ partition: 0 }, [value]);
    const records = await client.readAll(0);
    expect(records.find((r) => r.offset === ack.offsets[0])?.value).toEqual(value);
  });

  it('a console attached by the nodes\' URLs and the secret (no supervisor) finds every node and leader over TLS', async () => {
    const state = cluster.state();
    const attached = await RemoteCluster.fromAdminUrls(state.nodes.map((n) => n.metricsUrl), Buffer.from(readFileSync(state.secretFile, 'utf8').trim()), loadTls(files));
    try {
      expect([...attached.nodeIds()].sort()).toEqual([1, 2, 3]);
      expect(await attached.waitForLeaders(30_000)).toBe(true);
      expect(attached.health().every((h) => h.up)).toBe(true);
      // Without the supervisor a process cannot be started again, so restart says so.
      await expect(attached.restart(1)).rejects.toThrow(/needs the supervisor/);
    } finally {
      await attached.stop();
    }
  });

  it('refuses a client without a certificate, and a plain TCP client', async () => {
    const peers = new Map(cluster.state().nodes.map((n) => [n.id, { host: n.host, port: n.port }]));
    const noCertificate: SocketFactory = { ...PLAIN_SOCKETS, connect: (port, host) => tls.connect({ port, host, ca: readFileSync(files.caFile) }) };
    for (const sockets of [noCertificate, PLAIN_SOCKETS]) {
      const connector = new TcpConnector(peers, sockets);
      const client = new LogClient(connector, realScheduler, { appendTimeoutMs: 3_000 });
      await expect(client.append({ partition: 0 }, [new TextEncoder().encode('refused')])).rejects.toThrow();
      client.close();
      connector.close();
    }
  });

  it('the admin API refuses plain HTTP and clients without a certificate, and answers a client with one', async () => {
    const node = cluster.state().nodes[0];
    if (node === undefined) throw new Error('no node');
    expect(node.metricsUrl).toMatch(/^https:\/\//);
    const secret = readFileSync(cluster.state().secretFile, 'utf8').trim();
    const headers = { authorization: `Bearer ${secret}` };
    await expect(fetch(`${node.metricsUrl.replace('https://', 'http://')}/admin/status`, { headers })).rejects.toThrow();
    const withoutCertificate = new Promise<number>((resolve, reject) => {
      https.get(`${node.metricsUrl}/admin/status`, { headers, ca: readFileSync(files.caFile) }, (res) => resolve(res.statusCode ?? 0)).on('error', reject);
    });
    await expect(withoutCertificate).rejects.toThrow();
    const http = new HttpClient(loadTls(files));
    const reply = await http.request(`${node.metricsUrl}/admin/status`, { headers });
    http.close();
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toMatchObject({ node: node.id, running: true });
  });
});

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../apps/server/src/app.ts';
import { RemoteCluster } from '../../apps/server/src/cluster/remote-cluster.ts';
import type { SeriesRange } from '../../apps/server/src/store/prometheus-history.ts';
import { freePort } from '../support/node-cluster.ts';
import { SupervisedCluster } from '../support/supervised-cluster.ts';
import { sleep } from '../support/until.ts';

const APPENDS = 120;
/** Prometheus scrapes the nodes this often (and the test waits a few intervals). */
const SCRAPE_INTERVAL = '1s';

/** The node's own figure: `logscope_records_appended_total` from its /metrics. */
async function reportedTotal(metricsUrl: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('logscope_records_appended_total '));
  if (line === undefined) throw new Error(`no logscope_records_appended_total in ${metricsUrl}/metrics`);
  return Number(line.split(' ')[1]);
}

describe('history older than the console\'s ring buffers comes from Prometheus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logscope-prom-'));
  let cluster: SupervisedCluster;
  let prometheus: ChildProcess | null = null;
  let prometheusUrl = '';
  let remote: RemoteCluster | null = null;
  let app: App | null = null;

  beforeAll(async () => {
    try {
      execFileSync('prometheus', ['--version'], { stdio: 'pipe' });
    } catch {
      throw new Error("this test needs Debian's prometheus: apt-get install -y prometheus (.ci/run installs it)");
    }
    cluster = await SupervisedCluster.start(join(dir, 'cluster'), ['--nodes', '3', '--partitions', '6']);
    // The scrape config the README shows: one target per node, labelled with its id.
    const targets = cluster.state().nodes.map((n) => `      - targets: ['${new URL(n.metricsUrl).host}']\n        labels: { node: '${n.id}' }`).join('\n');
    writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: ${SCRAPE_INTERVAL}\nscrape_configs:\n  - job_name: logscope\n    static_configs:\n${targets}\n`);
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: 'ignore' });
    for (let i = 0; i < 300; i++) {
      const ready = await fetch(`${prometheusUrl}/-/ready`).then((r) => r.ok, () => false);
      if (ready) return;
      await sleep(100);
    }
    throw new Error('prometheus not ready in 30 s');
  }, 150_000);

  afterAll(async () => {
    await app?.close();
    await remote?.stop();
    prometheus?.kill('SIGTERM');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a tRPC range query from before the console started returns what each node reported', async () => {
    remote = await RemoteCluster.fromStateFile(join(dir, 'cluster'));
    expect(await remote.waitForLeaders(30_000)).toBe(true);
    const client = remote.client({ appendTimeoutMs: 15_000 });
    for (let i = 0; i < APPENDS; i++) await client.append({ partition: i % 6 }, [new TextEncoder().encode(`record ${i}`)]);

    // Load has stopped: each node's counter is final. Wait until Prometheus has scraped it.
    const nodes = cluster.state().nodes;
    const totals = new Map<number, number>();
    for (const n of nodes) totals.set(n.id, await reportedTotal(n.metricsUrl));
    expect([...totals.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(APPENDS);
    const scraped = async (): Promise<boolean> => {
      const body = (await (await fetch(`${prometheusUrl}/api/v1/query?query=logscope_records_appended_total`)).json()) as { data: { result: { metric: { node: string }; value: [number, string] }[] } };
      return nodes.every((n) => body.data.result.some((r) => r.metric.node === String(n.id) && Number(r.value[1]) === totals.get(n.id)));
    };
    for (let i = 0; i < 200 && !(await scraped()); i++) await sleep(100);
    expect(await scraped()).toBe(true);
    const fromMs = Date.now();
    await sleep(4_000);
    const toMs = Date.now();

    // A console started only now: its ring buffers hold nothing of [fromMs, toMs).
    app = await createApp({ remoteCluster: remote, prometheusUrl, dataDir: join(dir, 'console'), port: 0, staticDir: null, load: { enabled: false } });
    for (const n of nodes) {
      const input = { key: `node:${n.id}:records_appended_total`, range: { fromMs, toMs }, stepMs: 1_000 };
      const response = await fetch(`${app.url}/trpc/history.series?input=${encodeURIComponent(JSON.stringify(input))}`);
      expect(response.status).toBe(200);
      const series = ((await response.json()) as { result: { data: SeriesRange } }).result.data;
      expect(series.fromRing).toBe(0);
      expect(series.fromPrometheus).toBeGreaterThanOrEqual(3);
      expect(series.points.every((p) => p.tMs >= fromMs - 1_000 && p.tMs < toMs)).toBe(true);
      expect(new Set(series.points.map((p) => p.value))).toEqual(new Set([totals.get(n.id)]));
    }
  }, 120_000);
});

import { afterEach, describe, expect, it } from 'vitest';
import { parseMetrics } from './exposition.ts';
import { serveTelemetry, type TelemetryServer } from './http.ts';
import { NodeTelemetry } from './metrics.ts';

let server: TelemetryServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('serveTelemetry', () => {
  it('answers /metrics, /histograms, /spans over real HTTP on a free port', async () => {
    const telemetry = new NodeTelemetry({ nodeId: 4, nowMs: 0 });
    telemetry.recordAppendLatency(0.01, 0);
    telemetry.rotate(1_000);
    server = await serveTelemetry(telemetry, { port: 0 });
    expect(server.port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${server.port}`;

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseMetrics(await metrics.text());
    expect(samples.find((s) => s.name === 'logscope_append_latency_seconds_count')?.value).toBe(1);

    const histograms = await fetch(`${base}/histograms?since=0`);
    expect(histograms.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await histograms.json()) as { nodeId: number; windows: { metric: string }[] };
    expect(body.nodeId).toBe(4);
    expect(body.windows.length).toBeGreaterThan(0);
    expect(((await (await fetch(`${base}/histograms?since=1000`)).json()) as { windows: unknown[] }).windows).toEqual([]);

    const spans = await fetch(`${base}/spans`);
    expect(await spans.json()).toEqual({ nodeId: 4, untilMs: null, traces: [] });

    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/spans?since=soon`)).status).toBe(400);
  });

  it('reports a failing source as 500 and keeps serving', async () => {
    let fail = true;
    server = await serveTelemetry(
      {
        metricsText: async () => {
          if (fail) throw new Error('collect hook failed');
          return 'up 1\n';
        },
        histogramsJson: () => ({}),
        spansJson: () => ({}),
      },
      { port: 0 },
    );
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/metrics`)).status).toBe(500);
    fail = false;
    expect(await (await fetch(`${base}/metrics`)).text()).toBe('up 1\n');
  });
});

// Scrape targets: a node's telemetry in this process (the embedded cluster) or over HTTP
// (`--attach`). Both answer the same three questions; the scraper bounds each with a timeout.

import type { ParsedSample, TelemetrySource } from '@logscope/telemetry';

export interface ScrapeSource {
  /** Stable label: the URL, or `in-process:node-<id>`. */
  readonly name: string;
  /** Known up front for in-process sources; learned from the first scrape over HTTP. */
  readonly nodeId: number | null;
  metricsText(signal: AbortSignal): Promise<string>;
  /** In-process sources: the parsed samples directly (no text made and parsed on the shared loop). */
  metricsSamples?(signal: AbortSignal): Promise<ParsedSample[]>;
  histogramsJson(sinceMs: number | undefined, signal: AbortSignal): Promise<unknown>;
  spansJson(sinceMs: number | undefined, signal: AbortSignal): Promise<unknown>;
}

/** Max bytes read from one HTTP response: a runaway target cannot exhaust our memory. */
export const MAX_RESPONSE_BYTES = 32 << 20;

export class ScrapeError extends Error {
  override readonly name = 'ScrapeError';
  constructor(readonly kind: 'down' | 'timeout' | 'http' | 'malformed', message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * An embedded node's telemetry. `downReason` models the process being gone: a crashed node
 * answers no scrape, exactly as it would over HTTP.
 */
export function inProcessSource(nodeId: number, telemetry: TelemetrySource, downReason: () => string | null = () => null): ScrapeSource {
  const check = (): void => {
    const reason = downReason();
    if (reason !== null) throw new ScrapeError('down', `node ${nodeId} is down (${reason})`);
  };
  const samples = telemetry.metricsSamples?.bind(telemetry);
  return {
    name: `in-process:node-${nodeId}`,
    nodeId,
    async metricsText() {
      check();
      return telemetry.metricsText();
    },
    ...(samples === undefined ? {} : {
      async metricsSamples() {
        check();
        return samples();
      },
    }),
    async histogramsJson(sinceMs) {
      check();
      return telemetry.histogramsJson(sinceMs);
    },
    async spansJson(sinceMs) {
      check();
      return telemetry.spansJson(sinceMs);
    },
  };
}

export function httpSource(baseUrl: string): ScrapeSource {
  const base = baseUrl.replace(/\/+$/, '');
  const get = async (path: string, signal: AbortSignal): Promise<string> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, { signal, headers: { accept: 'text/plain, application/json' } });
    } catch (cause) {
      if (signal.aborted) throw new ScrapeError('timeout', `GET ${base}${path}: timed out`, { cause });
      const detail = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : String(cause);
      throw new ScrapeError('down', `GET ${base}${path}: ${detail}`, { cause });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new ScrapeError('http', `GET ${base}${path}: HTTP ${response.status}`);
    }
    const length = Number(response.headers.get('content-length') ?? '0');
    if (length > MAX_RESPONSE_BYTES) {
      await response.body?.cancel();
      throw new ScrapeError('malformed', `GET ${base}${path}: ${length} bytes exceeds ${MAX_RESPONSE_BYTES}`);
    }
    try {
      return await response.text();
    } catch (cause) {
      if (signal.aborted) throw new ScrapeError('timeout', `GET ${base}${path}: timed out reading the body`, { cause });
      throw new ScrapeError('down', `GET ${base}${path}: ${String(cause)}`, { cause });
    }
  };
  const json = async (path: string, signal: AbortSignal): Promise<unknown> => {
    const text = await get(path, signal);
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new ScrapeError('malformed', `GET ${base}${path}: not JSON (${text.slice(0, 40)}…)`, { cause });
    }
  };
  const since = (ms: number | undefined): string => (ms === undefined ? '' : `?since=${ms}`);
  return {
    name: base,
    nodeId: null,
    metricsText: (signal) => get('/metrics', signal),
    histogramsJson: (sinceMs, signal) => json(`/histograms${since(sinceMs)}`, signal),
    spansJson: (sinceMs, signal) => json(`/spans${since(sinceMs)}`, signal),
  };
}

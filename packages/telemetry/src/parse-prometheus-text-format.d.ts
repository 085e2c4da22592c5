// The package ships no types; this covers the one default export we use.
declare module 'parse-prometheus-text-format' {
  export interface ParsedFamilySample {
    labels?: Record<string, string>;
    /** Present on plain samples; values stay strings ("+Inf", "NaN", "1e3"). */
    value?: string;
    timestamp_ms?: string;
    /** Set on histogram/summary families only (which we never hand it typed). */
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  export interface ParsedFamily {
    name: string;
    help: string;
    /** Upper-cased TYPE, or "UNTYPED". */
    type: string;
    metrics: ParsedFamilySample[];
  }
  /** Throws InvalidLineError ("Encountered invalid line: …") on some malformed lines. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}

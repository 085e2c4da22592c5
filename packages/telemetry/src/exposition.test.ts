import { describe, expect, it } from 'vitest';
import { MetricsParseError, parseMetrics } from './exposition.ts';

describe('parseMetrics', () => {
  it('flattens labelled histograms without losing labels', () => {
    const text = [
      '# HELP req_seconds Request time.',
      '# TYPE req_seconds histogram',
      'req_seconds_bucket{partition="1",le="0.1"} 2',
      'req_seconds_bucket{partition="1",le="+Inf"} 3',
      'req_seconds_sum{partition="1"} 0.5',
      'req_seconds_count{partition="1"} 3',
      'req_seconds_bucket{partition="2",le="0.1"} 0',
      'req_seconds_bucket{partition="2",le="+Inf"} 1',
      'req_seconds_sum{partition="2"} 7',
      'req_seconds_count{partition="2"} 1',
      '# TYPE up gauge',
      'up{path="C:\\\\dir",msg="a \\"quoted\\" }"} 1 1395066363000',
      'weird NaN',
      'last_line_without_newline -Inf',
    ].join('\n');
    expect(parseMetrics(text)).toEqual([
      { name: 'req_seconds_bucket', labels: { partition: '1', le: '0.1' }, value: 2 },
      { name: 'req_seconds_bucket', labels: { partition: '1', le: '+Inf' }, value: 3 },
      { name: 'req_seconds_sum', labels: { partition: '1' }, value: 0.5 },
      { name: 'req_seconds_count', labels: { partition: '1' }, value: 3 },
      { name: 'req_seconds_bucket', labels: { partition: '2', le: '0.1' }, value: 0 },
      { name: 'req_seconds_bucket', labels: { partition: '2', le: '+Inf' }, value: 1 },
      { name: 'req_seconds_sum', labels: { partition: '2' }, value: 7 },
      { name: 'req_seconds_count', labels: { partition: '2' }, value: 1 },
      { name: 'up', labels: { path: 'C:\\dir', msg: 'a "quoted" }' }, value: 1 },
      { name: 'weird', labels: {}, value: Number.NaN },
      { name: 'last_line_without_newline', labels: {}, value: Number.NEGATIVE_INFINITY },
    ]);
  });

  it.each([
    ['prose', 'up 1\nhello world\n', 2],
    ['missing value', 'up\n', 1],
    ['unterminated labels', 'up{a="b 1\n', 1],
    ['bad label syntax', 'up{a=b} 1\n', 1],
    ['bad label name', 'up{1a="b"} 1\n', 1],
    ['bad metric name', '# TYPE ok gauge\nok 1\n9lives 1\n', 3],
    ['trailing junk', 'up 1 2 3\n', 1],
    ['non-integer timestamp', 'up 1 soon\n', 1],
    ['unknown type', '# TYPE up thermometer\nup 1\n', 1],
    ['malformed TYPE', '# TYPE up\n', 1],
    ['duplicate series', 'up{a="1"} 1\nup{a="1"} 2\n', 2],
    ['bucket without le', '# TYPE h histogram\nh_bucket{a="1"} 1\n', 2],
    ['html error page', '<html><body>502 Bad Gateway</body></html>\n', 1],
  ])('rejects %s with the offending line', (_label, text, lineNumber) => {
    let error: unknown;
    try {
      parseMetrics(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MetricsParseError);
    expect((error as MetricsParseError).lineNumber).toBe(lineNumber);
    expect((error as MetricsParseError).message).toContain(`line ${lineNumber}`);
  });

  it('accepts an empty exposition', () => {
    expect(parseMetrics('')).toEqual([]);
    expect(parseMetrics('# just a comment\n\n')).toEqual([]);
  });
});

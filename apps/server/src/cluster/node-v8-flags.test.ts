import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nodeProcessV8Flags } from './node-v8-flags.ts';

describe('nodeProcessV8Flags', () => {
  it('collects garbage on the main thread only when node processes have no core to spare', () => {
    expect(nodeProcessV8Flags(3, 2)).toEqual(['--single-threaded-gc']);
    expect(nodeProcessV8Flags(2, 2)).toEqual(['--single-threaded-gc']);
    expect(nodeProcessV8Flags(3, 8)).toEqual([]);
    expect(nodeProcessV8Flags(1, 2)).toEqual([]);
  });

  it('gives flags this Node accepts', () => {
    const out = execFileSync(process.execPath, [...nodeProcessV8Flags(3, 2), '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
    expect(out).toBe('ok');
  });
});

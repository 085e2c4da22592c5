// `npm run bench -- flush-shapes [--writers N] [--seconds S] [--record-bytes B] [--rounds R] [--dir D]`:
// what one journal flush costs the disk in each of three shapes, with N writers flushing back to back
// (closed loop, like N nodes on one disk), alternated round by round:
//   two-files  — the records and their identifiers as two O_DSYNC writes to two files (the journal today);
//   one-file   — the same two writes into one file (identifiers in a region of the segment), then one fdatasync;
//   records    — the records alone, one write and one fdatasync (no identifiers: the floor).
// Prints flushes/s, flush latency p50/p99/max and process CPU per flush, each the median over rounds.
import { closeSync, constants, fdatasync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IDENTIFIER_BYTES } from '../packages/log-cluster/src/storage/identifiers.ts';
import { writeAt, zeroFilledFile } from './disk-replay.ts';
import { machineLine } from './machine.ts';
import { median, recordMsSince } from './stats.ts';
import { newHistogram } from './open-loop.ts';

const FILE_BYTES = 32 << 20;
const REGION_BYTES = 4 << 20;
const SHAPES = ['two-files', 'one-file', 'records'] as const;
type Shape = (typeof SHAPES)[number];

interface Writer {
  readonly records: number; // O_DSYNC descriptor of the segment
  readonly identifiers: number; // O_DSYNC descriptor of the identifiers file
  readonly plain: number; // plain descriptor of the segment (write, then fdatasync)
  at: number;
  idsAt: number;
}

const sync = (fd: number): Promise<void> => new Promise((resolve, reject) => fdatasync(fd, (error) => (error === null ? resolve() : reject(error))));

async function flush(shape: Shape, w: Writer, records: Buffer, identifiers: Buffer): Promise<void> {
  // Records go past the identifiers' region in every shape, so the three write the same places.
  const at = REGION_BYTES + w.at;
  if (shape === 'two-files') await Promise.all([writeAt(w.records, records, at), writeAt(w.identifiers, identifiers, w.idsAt)]);
  else if (shape === 'one-file') {
    await Promise.all([writeAt(w.plain, records, at), writeAt(w.plain, identifiers, w.idsAt)]);
    await sync(w.plain);
  } else {
    await writeAt(w.plain, records, at);
    await sync(w.plain);
  }
  w.at = (w.at + records.length) % (FILE_BYTES - REGION_BYTES - records.length);
  w.idsAt = (w.idsAt + identifiers.length) % (REGION_BYTES - identifiers.length);
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      writers: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '4' },
      'record-bytes': { type: 'string', default: '2048' },
      rounds: { type: 'string', default: '3' },
      dir: { type: 'string' },
    },
  });
  const writerCount = Number(values.writers);
  const seconds = Number(values.seconds);
  const recordBytes = Number(values['record-bytes']);
  const rounds = Number(values.rounds);
  const dir = mkdtempSync(join(values.dir ?? tmpdir(), 'logscope-flush-shapes-'));
  const records = Buffer.alloc(recordBytes, 7);
  const identifiers = Buffer.alloc(2 * IDENTIFIER_BYTES, 9);
  const writers: Writer[] = [];
  try {
    for (let i = 0; i < writerCount; i++) {
      zeroFilledFile(join(dir, `seg-${i}`), FILE_BYTES);
      zeroFilledFile(join(dir, `ids-${i}`), FILE_BYTES);
      writers.push({
        records: openSync(join(dir, `seg-${i}`), constants.O_RDWR | constants.O_DSYNC),
        identifiers: openSync(join(dir, `ids-${i}`), constants.O_RDWR | constants.O_DSYNC),
        plain: openSync(join(dir, `seg-${i}`), constants.O_RDWR),
        at: 0,
        idsAt: 0,
      });
    }
    console.log(`machine: ${machineLine(dir)}`);
    console.log(`${writerCount} writers flushing back to back, ${recordBytes} B of records + ${identifiers.length} B of identifiers per flush, ${seconds} s per round, ${rounds} rounds alternated (UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'})`);
    const results = new Map<Shape, { perSec: number[]; p50: number[]; p99: number[]; max: number[]; cpu: number[] }>(SHAPES.map((s) => [s, { perSec: [], p50: [], p99: [], max: [], cpu: [] }]));
    for (let round = 0; round < rounds; round++) {
      for (const shape of SHAPES) {
        const histogram = newHistogram();
        const cpu0 = process.cpuUsage();
        const end = performance.now() + seconds * 1000;
        await Promise.all(
          writers.map(async (w) => {
            while (performance.now() < end) {
              const t = performance.now();
              await flush(shape, w, records, identifiers);
              recordMsSince(histogram, t);
            }
          }),
        );
        const cpu = process.cpuUsage(cpu0);
        const r = results.get(shape)!;
        r.perSec.push(histogram.totalCount / seconds);
        r.p50.push(histogram.getValueAtPercentile(50) / 1000);
        r.p99.push(histogram.getValueAtPercentile(99) / 1000);
        r.max.push(histogram.maxValue / 1000);
        r.cpu.push((cpu.user + cpu.system) / histogram.totalCount);
      }
    }
    console.log('| shape | flushes/s | p50 ms | p99 ms | max ms | CPU µs per flush | flushes/s per round |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [shape, r] of results) {
      console.log(`| ${shape} | ${median(r.perSec).toFixed(0)} | ${median(r.p50).toFixed(2)} | ${median(r.p99).toFixed(2)} | ${median(r.max).toFixed(2)} | ${median(r.cpu).toFixed(0)} | ${r.perSec.map((x) => x.toFixed(0)).join(', ')} |`);
    }
  } finally {
    for (const w of writers) for (const fd of [w.records, w.identifiers, w.plain]) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import { recordMsSince } from './stats.ts';

export interface DiskLimit {
  /** fdatasync calls per second, each after a 4 KiB write (the floor of a durable ack). */
  readonly fdatasyncPerSec: number;
  readonly fdatasyncP50Ms: number;
  readonly fdatasyncP99Ms: number;
  readonly fdatasyncMaxMs: number;
  /**
   * CPU (user + system, the whole process, which does nothing else meanwhile) per 4 KiB write +
   * fdatasync, and per plain 4 KiB write: what each durable write of a flush costs beside its wait.
   */
  readonly durableWriteCpuMicros: number;
  readonly plainWriteCpuMicros: number;
  /** Sequential bandwidth with an fdatasync after every 1 MiB write. */
  readonly syncedWriteMBps: number;
}

/** The physical limit of the disk under `dir`: what no durable log on it can beat. */
export function measureDiskLimit(dir: string, seconds = 3): DiskLimit {
  const file = join(dir, 'disk-limit.bin');
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const fd = openSync(file, 'w');
  try {
    const small = Buffer.alloc(4096, 7);
    let syncs = 0;
    let position = 0;
    const syncCpu = process.cpuUsage();
    const syncStart = performance.now();
    while (performance.now() - syncStart < seconds * 1000) {
      writeSync(fd, small, 0, small.length, position);
      position += small.length;
      const t = performance.now();
      fdatasyncSync(fd);
      recordMsSince(histogram, t);
      syncs++;
    }
    const syncElapsed = (performance.now() - syncStart) / 1000;
    const syncCpuUsed = process.cpuUsage(syncCpu);
    const plainWrites = 2000;
    const plainCpu = process.cpuUsage();
    for (let i = 0; i < plainWrites; i++) writeSync(fd, small, 0, small.length, i * small.length);
    const plainCpuUsed = process.cpuUsage(plainCpu);
    const big = Buffer.alloc(1 << 20, 9);
    let bytes = 0;
    position = 0;
    const bandwidthStart = performance.now();
    while (performance.now() - bandwidthStart < seconds * 1000) {
      writeSync(fd, big, 0, big.length, position);
      position += big.length;
      fdatasyncSync(fd);
      bytes += big.length;
    }
    const bandwidthElapsed = (performance.now() - bandwidthStart) / 1000;
    return {
      fdatasyncPerSec: syncs / syncElapsed,
      fdatasyncP50Ms: histogram.getValueAtPercentile(50) / 1000,
      fdatasyncP99Ms: histogram.getValueAtPercentile(99) / 1000,
      fdatasyncMaxMs: histogram.maxValue / 1000,
      durableWriteCpuMicros: (syncCpuUsed.user + syncCpuUsed.system) / syncs,
      plainWriteCpuMicros: (plainCpuUsed.user + plainCpuUsed.system) / plainWrites,
      syncedWriteMBps: bytes / bandwidthElapsed / 1e6,
    };
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}

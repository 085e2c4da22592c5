// For tests: an embedded cluster whose retention deletes segments after a few hundred KiB, and a
// wait for a condition. Not part of the package's API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedCluster } from './cluster.ts';
import type { NodeConfig } from './node.ts';

/** Three nodes, one partition, 32 KiB segments, 64 KiB kept a node, looked at every 20 ms; stop() also removes its directory. */
export async function smallRetentionCluster(name: string, node: Partial<Pick<NodeConfig, 'producerExpiryMs'>> = {}): Promise<EmbeddedCluster & { removeDirectory(): void }> {
  const dir = mkdtempSync(join(tmpdir(), `logscope-${name}-`));
  const cluster = await EmbeddedCluster.start({
    dataDir: dir,
    nodeCount: 3,
    partitionCount: 1,
    node: { ...node, journal: { segmentBytes: 32 << 10, retentionBytes: 64 << 10, retentionMs: 3_600_000, cacheBytes: 1 << 20 }, retentionIntervalMs: 20 },
  });
  return Object.assign(cluster, { removeDirectory: () => rmSync(dir, { recursive: true, force: true }) });
}

/** Resolves once `condition` holds, checked every 20 ms; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

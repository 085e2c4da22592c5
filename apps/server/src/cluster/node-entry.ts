// How a node process is started: from one prebuilt ES module of `logscope node` (node-main.ts and
// everything it imports), bundled by esbuild when a process first asks for it, instead of through
// tsx. Under tsx a node process compiled each module as it loaded it, and Node 20 runs tsx's
// module hooks on a second V8 isolate of its own, which kept its heap and ran its own
// mark-compacts for as long as the node ran.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const NODE_MAIN = join(root, 'apps/server/src/node-main.ts');
/**
 * Inside the repository's node_modules, so that the bundle resolves what it loads at run time
 * (`@node-rs/crc32` through createRequire) from the same packages as the sources.
 */
export const NODE_BUNDLE_DIR = join(root, 'node_modules', '.cache', 'logscope');

/** Bundles of other sources not written for this long are removed whenever one is built. */
const STALE_BUNDLE_MS = 24 * 3600_000;

let bundle: string | null = null;

/**
 * The arguments after the V8 flags that run `logscope node` (its own arguments follow). The
 * bundle is built once per process, from the sources as they are then, and named by its content:
 * a process never runs an older build, and processes building at once write the same file.
 */
export function nodeEntryArgs(): string[] {
  // Rebuilt if gone (a long-lived supervisor restarting a node after another process cleaned up).
  if (bundle === null || !existsSync(bundle)) bundle = buildNodeBundle();
  return ['--enable-source-maps', bundle];
}

/** Bundles node-main.ts into NODE_BUNDLE_DIR (a no-op when that content is there already); returns its path. */
export function buildNodeBundle(): string {
  const result = buildSync({
    entryPoints: [NODE_MAIN],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    write: false,
    logLevel: 'silent',
    // Some dependencies are CommonJS and call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __logscopeCreateRequire } from 'node:module'; const require = __logscopeCreateRequire(import.meta.url);" },
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error('esbuild produced no bundle of the node entry');
  const name = `node-main-${createHash('sha256').update(output.contents).digest('hex').slice(0, 16)}.mjs`;
  const file = join(NODE_BUNDLE_DIR, name);
  if (!existsSync(file)) {
    mkdirSync(NODE_BUNDLE_DIR, { recursive: true });
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, output.contents);
    renameSync(partial, file);
  }
  removeStaleBundles(name);
  return file;
}

function removeStaleBundles(keep: string): void {
  const now = Date.now();
  for (const name of readdirSync(NODE_BUNDLE_DIR)) {
    if (name === keep || !name.startsWith('node-main-')) continue;
    const path = join(NODE_BUNDLE_DIR, name);
    try {
      if (now - statSync(path).mtimeMs > STALE_BUNDLE_MS) rmSync(path, { force: true });
    } catch {
      // Removed by another process meanwhile: nothing to do.
    }
  }
}

// The fault "an older copy of the disk put back" (a restored backup or VM snapshot, a volume that
// lost its last writes): a stopped node's files copied aside, and later put back in their place.
// The same code for the embedded cluster and the supervisor of node processes.

import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LogError } from '../errors.ts';
import { SPARE_PREFIX } from './file-disk.ts';

export interface DiskCopy {
  files: number;
  bytes: number;
  /** When the copy was taken (wall clock, ms). */
  copiedAtMs: number;
}

/** Beside the node's directory, never inside it: the node would list the copy as its own files. */
export function diskCopyDirectory(directory: string): string {
  return `${directory}.copy`;
}

/** A node's own files: not its spare segments half-filled in the background (a restart drops them). */
function nodeFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.startsWith(SPARE_PREFIX))
    .map((entry) => entry.name)
    .sort();
}

function copyFiles(from: string, to: string): { files: number; bytes: number } {
  let bytes = 0;
  const names = nodeFiles(from);
  for (const name of names) {
    cpSync(join(from, name), join(to, name));
    bytes += statSync(join(to, name)).size;
  }
  return { files: names.length, bytes };
}

/** Copies a stopped node's files aside, replacing an earlier copy. */
export function copyDiskAside(directory: string): DiskCopy {
  if (!existsSync(directory)) throw new LogError('Unavailable', `${directory} does not exist: the node has no disk to copy yet`);
  const to = diskCopyDirectory(directory);
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  const copiedAtMs = Date.now();
  return { ...copyFiles(directory, to), copiedAtMs };
}

/** Puts the copy back in place of a stopped node's files: its disk went back to when the copy was taken. */
export function putBackDiskCopy(directory: string): DiskCopy {
  const from = diskCopyDirectory(directory);
  if (!existsSync(from)) throw new LogError('Unavailable', `no copy of ${directory} to put back: copy the node's disk first`);
  mkdirSync(directory, { recursive: true });
  for (const name of readdirSync(directory, { withFileTypes: true })) if (name.isFile()) rmSync(join(directory, name.name), { force: true });
  return { ...copyFiles(from, directory), copiedAtMs: statSync(from).mtimeMs };
}

import { execFileSync } from 'node:child_process';

/** Mounts a tmpfs of `size` (mount(8) syntax: "24m") at `directory`; the reason when this machine does not allow it (not root, no mount). */
export function tryMountTmpfs(directory: string, size: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', directory], { stdio: 'pipe' });
    return null;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0] ?? 'mount failed' : String(error);
  }
}

/**
 * Unmounts `directory`, retrying for a few seconds: a killed process may still hold files open for a
 * moment. `lazy` detaches it at once instead (umount -l), for files this process itself keeps open.
 */
export function unmountTmpfs(directory: string, { lazy = false } = {}): void {
  if (lazy) {
    execFileSync('umount', ['-l', directory], { stdio: 'pipe' });
    return;
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      execFileSync('umount', [directory], { stdio: 'pipe' });
      return;
    } catch {
      execFileSync('sleep', ['0.2']);
    }
  }
}

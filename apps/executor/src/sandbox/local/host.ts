import { constants } from 'node:fs';
import { access, lstat, readdir, readlink } from 'node:fs/promises';
import type { SystemPath } from './bwrap-args.js';

/** The first of `candidates` that is an executable file, or undefined. */
export async function findExecutable(candidates: readonly string[]): Promise<string | undefined> {
  for (const path of candidates) {
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // next candidate
    }
  }
  return undefined;
}

/**
 * Tools run inside the sandbox must live where the sandbox sees them: under /usr (bound
 * read-only) or a top-level system directory such as /bin.
 */
export const isSystemPath = (path: string): boolean => /^\/(usr|bin|sbin|lib|lib32|lib64|libx32)\//.test(path);

/** /bin, /sbin, /lib* as this host has them: symlinks into /usr (merged /usr) or real directories. */
export async function systemPaths(): Promise<SystemPath[]> {
  const found: SystemPath[] = [];
  for (const path of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    try {
      const stat = await lstat(path);
      if (stat.isSymbolicLink()) found.push({ path, symlinkTo: await readlink(path) });
      else if (stat.isDirectory()) found.push({ path });
    } catch {
      // absent on this host
    }
  }
  return found;
}

/**
 * The psql binary itself (Debian's /usr/bin/psql is a Perl wrapper that wants cluster
 * configuration from /etc): the newest /usr/lib/postgresql/<version>/bin/psql, else /usr/bin/psql.
 */
export async function findPsql(): Promise<string | undefined> {
  let versions: string[] = [];
  try {
    versions = (await readdir('/usr/lib/postgresql')).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    // no server-side packages
  }
  return findExecutable([...versions.map((v) => `/usr/lib/postgresql/${v}/bin/psql`), '/usr/bin/psql']);
}

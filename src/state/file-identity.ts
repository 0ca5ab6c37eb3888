// FileIdentity: which version of a state file is on disk, by (device, inode, size, mtime in ns).
//
// Atomic writes replace the inode, so the identity of a file we wrote or loaded stays distinct from any
// later version. Watchers compare identities to skip versions they already know: ones this process wrote
// (writeStateFile) and ones it just loaded (loadStateFile), without reading a 60 MB file again.
import type {BigIntStats} from 'node:fs'
import {resolve} from 'node:path'

/** A version of a file on disk, comparable with ===. */
export type FileIdentity = string

/** The identity of the version described by `st` (from a bigint stat/fstat). */
export function fileIdentity(st: BigIntStats): FileIdentity {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`
}

/** The versions this process last wrote and last loaded, per absolute path. */
export const knownVersions = {
  written: new Map<string, FileIdentity>(),
  loaded: new Map<string, FileIdentity>(),
  key(path: string): string {
    return resolve(path)
  },
}

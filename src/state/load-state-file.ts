// loadStateFile: read a state file, parse its JSON and validate it, failing with one StateError line.
import {openSync, readFileSync, fstatSync, closeSync} from 'node:fs'
import {open} from 'node:fs/promises'
import type {z} from 'zod'
import {fileIdentity, knownVersions} from './file-identity.js'
import type {FileIdentity} from './file-identity.js'
import {locateJsonSyntaxError} from './json-syntax-error.js'
import {StateError} from './state-error.js'
import {validateState} from './validate-state.js'

/** A loaded state and the version of the file it came from. */
export interface LoadedState<T> {
  value: T
  identity: FileIdentity
}

/**
 * Reads `file`, parses it as JSON and validates it with `schema`. Throws a StateError whose message is one
 * line naming the file and, for bad content, the line/column or the field path and what was expected.
 */
export async function loadStateFile<T>(file: string, schema: z.ZodType<T>): Promise<T> {
  return (await readStateFile(file, schema)).value
}

/** loadStateFile for start-up code that has not entered the event loop yet. */
export function loadStateFileSync<T>(file: string, schema: z.ZodType<T>): T {
  let text: string
  let identity: FileIdentity
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    throw readError(file, err)
  }
  try {
    identity = fileIdentity(fstatSync(fd, {bigint: true}))
    text = readFileSync(fd, 'utf8')
  } catch (err) {
    throw readError(file, err)
  } finally {
    closeSync(fd)
  }
  const value = parseStateText(file, text, schema)
  knownVersions.loaded.set(knownVersions.key(file), identity)
  return value
}

/**
 * loadStateFile that also returns the identity of the version read. The identity comes from the same open
 * file descriptor as the bytes, so a rename in between cannot pair one version's bytes with another's identity.
 */
export async function readStateFile<T>(file: string, schema: z.ZodType<T>): Promise<LoadedState<T>> {
  let fh
  try {
    fh = await open(file, 'r')
  } catch (err) {
    throw readError(file, err)
  }
  let text: string
  let identity: FileIdentity
  try {
    identity = fileIdentity(await fh.stat({bigint: true}))
    text = await fh.readFile('utf8')
  } catch (err) {
    throw readError(file, err)
  } finally {
    await fh.close()
  }
  const value = parseStateText(file, text, schema)
  knownVersions.loaded.set(knownVersions.key(file), identity)
  return {value, identity}
}

/** Parses and validates the text of a state file; `file` is only used in messages. */
export function parseStateText<T>(file: string, text: string, schema: z.ZodType<T>): T {
  // Editors on some systems save a UTF-8 byte order mark; JSON.parse refuses it.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    // Never pass on JSON.parse's error, not even as a cause (pino's err serializer prints causes): Node 20
    // quotes the input in it, which may hold a secret.
    const p = locateJsonSyntaxError(text)
    if (!p) throw new StateError(`${file}: invalid JSON`, 'syntax', file, '', 'JSON')
    throw new StateError(`${file}:${p.line}:${p.column}: invalid JSON: ${p.problem}`, 'syntax', file, '', 'JSON', p.line, p.column)
  }
  return validateState(file, raw, schema)
}

const READ_REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ELOOP: 'too many symbolic links',
}

function readError(file: string, err: unknown): StateError {
  const code = (err as NodeJS.ErrnoException)?.code ?? ''
  const reason = READ_REASONS[code] ?? (code || String((err as Error)?.message ?? err))
  return new StateError(`${file}: cannot read: ${reason}`, 'read', file, '', '', undefined, undefined, {cause: err})
}

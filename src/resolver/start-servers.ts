// Where an iterative resolution starts: given servers, the lab root, a root hints file, or IANA's built-in hints.
import {readFileSync} from 'node:fs'
import {isIP} from 'node:net'
import {builtInRootHints, hintAddresses, parseRootHints, RootHintsError} from './root-hints.js'

/** The lab root of docs/ARCHITECTURE.md (`glb lab up`): where `--lab` starts. */
export const LAB_ROOT = '127.0.0.9'

/** The environment variable that makes `--lab` the default (what `glb lab up` tells the user to set). */
export const LAB_ENV = 'GLB_LAB'

/** What the user asked for (flags) and the environment. */
export interface StartChoice {
  server?: string[]
  rootHints?: string
  lab?: boolean
  /** The lab's root when it is not LAB_ROOT (a lab started from another topology). */
  labRoot?: string
  env?: NodeJS.ProcessEnv
}

/** The start servers and what they are, for --json and messages. */
export interface StartServers {
  from: 'server' | 'lab' | 'root-hints' | 'built-in'
  servers: string[]
  /** The hints file (root-hints), "built-in named.root", or the env variable that chose the lab. */
  source?: string
}

/** A choice that cannot be honoured (conflicting flags, a bad address, an unreadable or invalid hints file). */
export class StartServersError extends Error {}

/**
 * --server, else --root-hints FILE, else --lab (or GLB_LAB=1), else the Internet's root from the built-in
 * hints. At most one of the three flags may be given.
 */
export function chooseStartServers(c: StartChoice): StartServers {
  const given = [c.server?.length ? '--server' : '', c.rootHints !== undefined ? '--root-hints' : '', c.lab ? '--lab' : ''].filter(Boolean)
  if (given.length > 1) throw new StartServersError(`${given.join(' and ')}: give one place to start from`)
  if (c.server?.length) {
    for (const s of c.server) if (!isIP(s)) throw new StartServersError(`--server ${s}: expected an IPv4 or IPv6 address`)
    return {from: 'server', servers: c.server}
  }
  if (c.rootHints !== undefined) {
    let text: string
    try {
      text = readFileSync(c.rootHints, 'utf8')
    } catch (err) {
      throw new StartServersError(`--root-hints ${c.rootHints}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
    }
    try {
      return {from: 'root-hints', servers: hintAddresses(parseRootHints(text, c.rootHints)), source: c.rootHints}
    } catch (err) {
      if (err instanceof RootHintsError) throw new StartServersError(err.message)
      throw err
    }
  }
  const env = c.env?.[LAB_ENV]
  const labRoot = c.labRoot ?? LAB_ROOT
  if (c.lab) return {from: 'lab', servers: [labRoot]}
  if (env !== undefined && env !== '' && env !== '0') {
    if (env !== '1') throw new StartServersError(`${LAB_ENV}=${env}: expected 1 (start at the lab root ${labRoot}) or 0`)
    return {from: 'lab', servers: [labRoot], source: `${LAB_ENV}=1`}
  }
  const hints = builtInRootHints()
  return {from: 'built-in', servers: hintAddresses(hints), source: hints.source}
}

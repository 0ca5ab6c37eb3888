// One change to a running lab's latency matrix (a server down or up, a delay from a POP), written atomically.
import {readFileSync} from 'node:fs'
import ipaddr from 'ipaddr.js'
import {writeStateFile} from '../state/write-state-file.js'
import {LatencyMatrix, type LatencyServerSpec} from './latency-matrix.js'

/** What to change for one content server. */
export interface MatrixChange {
  server: string
  /** true: silent (down); false: answering again. */
  down?: boolean
  /** With `ms`: the delay requests from this prefix or address get (the longest matching prefix wins). */
  from?: string
  ms?: number
}

/**
 * Applies `change` to the matrix file and writes it back atomically (temp file + rename: the content servers,
 * which watch the folder, never read half a file). The result is validated before it is written, so a bad
 * change leaves the file as it was. Returns the server's entry as now written.
 */
export async function applyMatrixChange(file: string, change: MatrixChange): Promise<LatencyServerSpec> {
  const current = LatencyMatrix.load(file).spec // validates the file as it is, errors naming the file
  // Keep the file's own text (and "$comment"s) as written: edit the parsed JSON, not the validated copy.
  const json = JSON.parse(readFileSync(file, 'utf8')) as {servers: Record<string, LatencyServerSpec>}
  if (!ipaddr.isValid(change.server)) throw new Error(`--server "${change.server}": not an IP address`)
  const key = Object.keys(current.servers).find((k) => ipaddr.isValid(k) && ipaddr.parse(k).toString() === ipaddr.parse(change.server).toString())
  if (key === undefined) throw new Error(`${file}: no server ${change.server} (servers: ${Object.keys(current.servers).join(', ')})`)
  const entry = json.servers[key]!
  if (change.down !== undefined) entry.down = change.down
  if (change.ms !== undefined) {
    if (change.from === undefined) entry.default = change.ms
    else entry.from = {...entry.from, [change.from]: change.ms}
  } else if (change.from !== undefined) {
    throw new Error('--from needs --ms (the delay those requests get)')
  }
  LatencyMatrix.parse(json, file) // refuse to write what the content servers would reject
  await writeStateFile(file, json, {indent: 2})
  return entry
}

// The DNS-LB's persisted measurements: written atomically on an interval so a restart starts from them and
// `glb` commands or shell scripts (jq) can read what this DNS-LB sees.
import {readFile} from 'node:fs/promises'
import {HealthTable} from '../../select/health-table.js'
import type {HealthTableJSON} from '../../select/health-table.js'
import type {HealthOptions} from '../../select/server-health.js'
import type {Reason} from '../../select/select.js'
import {writeStateFile} from '../../state/write-state-file.js'

export const MEASUREMENTS_FORMAT = 'glb-lb-measurements/1'

/** One server as scripts read it: the figures explain shows. */
export interface MeasuredServer {
  srttMs: number | null
  spreadMs: number | null
  lossPct: number | null
  up: boolean | null
  score: number | null
  chosen: boolean
}

/**
 * The file: who measured (label, zone, probe source and method), when, the answer in force, a flat
 * per-server summary for scripts, and the full health table (src/select's JSON form) to restore from.
 */
export interface MeasurementsJSON {
  format: typeof MEASUREMENTS_FORMAT
  label: string
  zone: string
  source: string | null
  method: string
  savedAt: string
  answer: {A: string[]; AAAA: string[]}
  servers: Record<string, MeasuredServer>
  health: HealthTableJSON
}

/** Builds the file's content from the table and the reasons of the selection in force. */
export function measurementsJSON(
  who: {label: string; zone: string; source: string | null; method: string},
  table: HealthTable,
  answer: {A: string[]; AAAA: string[]},
  reasons: readonly Reason[],
): MeasurementsJSON {
  const servers: Record<string, MeasuredServer> = {}
  for (const r of reasons) {
    servers[r.address] = {
      srttMs: r.srttMs,
      spreadMs: r.spreadMs,
      lossPct: r.loss === null ? null : Math.round(r.loss * 1000) / 10,
      up: r.up,
      score: r.score,
      chosen: r.chosen,
    }
  }
  return {format: MEASUREMENTS_FORMAT, ...who, savedAt: new Date().toISOString(), answer, servers, health: table.toJSON()}
}

/** Writes the measurements atomically (a reader never sees half a file). */
export async function saveMeasurements(file: string, m: MeasurementsJSON): Promise<void> {
  await writeStateFile(file, m)
}

/** What loading found: a table to start from, or why there is none (a missing file is not a problem). */
export type LoadedMeasurements = {table: HealthTable; note: string} | {table: null; note: string | null}

/**
 * Reads persisted measurements taken from the same probe source and method (others describe another
 * vantage point) and no older than `maxAgeMs`. Never throws: a bad file is reported in `note` and ignored.
 */
export async function loadMeasurements(
  file: string,
  expect: {source: string | null; method: string},
  options: HealthOptions,
  maxAgeMs: number,
): Promise<LoadedMeasurements> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {table: null, note: null}
    return {table: null, note: `${file}: cannot read measurements (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); starting unmeasured`}
  }
  let m: Partial<MeasurementsJSON>
  try {
    m = JSON.parse(text) as Partial<MeasurementsJSON>
  } catch (err) {
    return {table: null, note: `${file}: not valid JSON (${(err as Error).message}); starting unmeasured`}
  }
  if (m?.format !== MEASUREMENTS_FORMAT) return {table: null, note: `${file}: not a ${MEASUREMENTS_FORMAT} file; starting unmeasured`}
  if ((m.source ?? null) !== expect.source || m.method !== expect.method) {
    return {table: null, note: `${file}: measured from ${m.source ?? 'any address'} by ${m.method}, now probing from ${expect.source ?? 'any address'} by ${expect.method}; starting unmeasured`}
  }
  try {
    const table = HealthTable.fromJSON(m.health, options, {maxAgeMs})
    return {table, note: `${file}: started from ${table.size} persisted measurement${table.size === 1 ? '' : 's'} (saved ${m.savedAt})`}
  } catch (err) {
    return {table: null, note: `${file}: ${(err as Error).message}; starting unmeasured`}
  }
}

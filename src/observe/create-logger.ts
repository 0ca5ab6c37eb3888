// createLogger: the pino logger every glb component uses: JSON lines on stderr, a component name, secrets redacted.
import pino from 'pino'
import type {DestinationStream, Logger, LevelWithSilent} from 'pino'

export type {Logger}

/**
 * Field paths whose values are replaced by "[redacted]" in every line. pino's redaction matches paths, not
 * names at any depth, so the common shapes are listed: a secret at the top, one or two levels down, and in
 * TSIG key lists (`keys[0].secret`, `state.keys[0].secret`). Log a key by its name, never the whole object.
 */
export const REDACT_PATHS = [
  'secret', '*.secret', '*.*.secret', 'key.secret', 'tsig.secret',
  'keys[*].secret', '*.keys[*].secret', 'keys.*.secret', '*.keys.*.secret',
  'password', '*.password', 'token', '*.token',
]

export interface LoggerOptions {
  /** Overrides GLB_LOG_LEVEL for this logger. */
  level?: LevelWithSilent
  /** Where lines go; default stderr. Tests pass a stream that collects lines. */
  destination?: DestinationStream
}

const LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']
let stderr: DestinationStream | undefined
let warnedBadLevel = false

/** The process-wide level: GLB_LOG_LEVEL (trace, debug, info, warn, error, fatal, silent), default info. */
export function logLevelFromEnv(): {level: LevelWithSilent; invalid?: string} {
  const v = process.env.GLB_LOG_LEVEL?.trim().toLowerCase()
  if (!v) return {level: 'info'}
  return LEVELS.includes(v) ? {level: v as LevelWithSilent} : {level: 'info', invalid: process.env.GLB_LOG_LEVEL}
}

/**
 * A logger whose every line is one JSON object with `component`, an ISO `time` and a `level` name.
 * Writes are synchronous on stderr: a foreground server that exits on a fatal error must not lose the line
 * that says why, and the hot path logs rarely (see logOnce).
 */
export function createLogger(component: string, opts: LoggerOptions = {}): Logger {
  const env = logLevelFromEnv()
  // One shared stderr stream per process, so components' lines never interleave mid-line.
  const destination = opts.destination ?? (stderr ??= pino.destination({dest: 2, sync: true}))
  const logger = pino(
    {
      level: opts.level ?? env.level,
      base: {component, pid: process.pid},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {level: (label) => ({level: label})},
      redact: {paths: REDACT_PATHS, censor: '[redacted]'},
    },
    destination,
  )
  if (env.invalid !== undefined && !opts.level && !warnedBadLevel) {
    warnedBadLevel = true
    logger.warn({GLB_LOG_LEVEL: env.invalid}, `GLB_LOG_LEVEL is not one of ${LEVELS.join(', ')}; using info`)
  }
  return logger
}

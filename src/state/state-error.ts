// StateError: the one-line, typed error every state-file operation throws or reports.

/**
 * Stable codes, so callers can branch without parsing the message (the undici habit):
 * - read:    the file could not be opened or read (missing, permission, is a directory)
 * - syntax:  the bytes are not JSON; `line` and `column` say where
 * - invalid: the JSON does not match the schema; `path` and `expected` say where and what
 * - write:   an atomic write failed; the old file is still in place
 */
export type StateErrorCode = 'read' | 'syntax' | 'invalid' | 'write'

/**
 * A state file problem, already phrased as one line that names the file, the field path and what was
 * expected (`lb.json: pools[0].ttl: expected a number, got string "30"`). Commands print `message` and exit
 * non-zero before they listen. The message never contains the value of a secret field.
 */
export class StateError extends Error {
  override readonly name = 'StateError'

  constructor(
    message: string,
    readonly code: StateErrorCode,
    /** The file as the caller named it. */
    readonly file: string,
    /** The field path in JSON-ish notation (`pools[0].servers[2].address`); '' for the whole file. */
    readonly path: string = '',
    /** What the field should have been (`an IPv4 or IPv6 address`); '' when not about a field. */
    readonly expected: string = '',
    /** For syntax errors: 1-based line and column of the first bad character. */
    readonly line?: number,
    readonly column?: number,
    options?: {cause?: unknown},
  ) {
    super(message, options)
  }
}

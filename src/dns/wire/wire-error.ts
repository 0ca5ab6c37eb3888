// The one error type the wire layer throws: a message that is not well-formed DNS.

/** Thrown by the strict reader and the writer; the server turns it into FORMERR or a drop. */
export class WireError extends Error {
  override readonly name = 'WireError'
}

// Socket errors as the short words a probe report shows ("refused", "timeout"), not errno soup.

/** One short word for a socket error: "refused", "unreachable", or the errno code. */
export function networkError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'refused'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable'
    case 'ECONNRESET':
      return 'reset'
    case 'EADDRNOTAVAIL':
      return 'source address not available'
    default:
      return err.code ?? err.message
  }
}

// The typed failure of the registration client: bad input, an unreachable server, or a reply we cannot trust.

/** kind: 'input' (fix the arguments), 'network' (timeout, unreachable), 'reply' (refused, unsigned, bad TSIG). */
export class RegistrationError extends Error {
  readonly code = 'GLB_REGISTRATION'
  constructor(readonly kind: 'input' | 'network' | 'reply', message: string) {
    super(message)
    this.name = 'RegistrationError'
  }
}

// The RegistrationClient a running DNS-LB uses: src/registration's discovery, UPDATE and push operations.
import type {RegistrationClient} from './egress-registrar.js'

/** The client built on src/registration, or undefined while that module does not provide it. */
export function registrationClient(): RegistrationClient | undefined {
  return undefined
}

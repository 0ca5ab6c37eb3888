// The public API of src/registration: the client side of DNS-B registrations (see README.md).
export {register, deregister, pushMeasurements, parseDnsTarget, keyFrom} from './register.js'
export type {DnsBOptions, DnsBOutcome, RegisterOptions, DeregisterOptions, PushMeasurementsOptions} from './register.js'
export {discoverEgress} from './discover-egress.js'
export type {DiscoverEgressOptions} from './discover-egress.js'
export {listMappings} from './list-mappings.js'
export type {ListMappingsOptions, MappingListing, MappingRow} from './list-mappings.js'
export {announceDnsB} from './announce.js'
export type {AnnounceOptions} from './announce.js'
export {transferZone} from './transfer-zone.js'
export {sendUpdate} from './send-update.js'
export type {DnsTarget, UpdateReply} from './send-update.js'
export {RegistrationError} from './registration-error.js'
export {
  formatMeasurement, lbOwner, mapOwner, measurementOwner, parseMeasurement, parseRegistrationName,
} from './registration-records.js'
export type {Measurement, RegistrationName} from './registration-records.js'

// The public API of src/mapping: "which DNS-LB serves this resolver" (see README.md).
export {MappingTable} from './mapping-table.js'
export type {MappingChange, MappingEntry, MappingMatch, MappingTableOptions, UpsertOutcome} from './mapping-table.js'
export {MAPPING_STATE_FORMAT, MappingStateError} from './mapping-state.js'
export type {MappingState, MappingStateEntry} from './mapping-state.js'
export {normalizeLbName} from './lb-registry.js'
export type {LbIdentity, LbSpec} from './lb-registry.js'
export {NEARBY_V4_LEN, NEARBY_V6_LEN} from './nearby-lb-counts.js'
export {
  addressBits,
  formatAddress,
  formatIPv4,
  formatIPv6,
  hostBitsClear,
  isAddress,
  maskAddress,
  parseAddress,
  parseIPv4,
  parseIPv4Into,
  parseIPv6Into,
} from './address.js'
export type {Address, IPv4, IPv6} from './address.js'
export {formatPrefix, parsePrefix, prefixContains, prefixEquals, prefixProblem} from './prefix.js'
export type {Prefix} from './prefix.js'
export {labelsToPrefix, prefixToLabels} from './rpz-labels.js'

// The persisted JSON form of a mapping table: a flat document that stays compact at a million entries.
//
//   {
//     "format": "glb-mapping/1",
//     "lbs": [{"name": "lb1.www.glb.example.test.", "addrs": ["127.0.2.1", "fd00::2:1"]}, ...],
//     "entries": [["127.0.1.53/32", 0, 1767225600], ["10.1.0.0/16", 1, 1767225600, 12.5], ...]
//   }
//
// An entry is one lease: [prefix, lb, expiresAt, pref?]. `prefix` is "address/len" (lengths 1-32 / 1-128,
// no bits set beyond the length; a bare address means /32 or /128). `lb` is an index into "lbs", which is
// also the LB's id once loaded. `expiresAt` is absolute, in seconds since the Unix epoch. `pref` (lower is
// better, e.g. the LB's RTT to the resolver in ms) is omitted when the LB gave none. A prefix held by
// several LBs appears once per LB, best first. Why arrays and not objects: keys repeated a million times
// would double the file and the parse time.

/** The value of the "format" member; a reader refuses any other. */
export const MAPPING_STATE_FORMAT = 'glb-mapping/1'

/** One lease: [prefix, lb index, expiresAt (Unix seconds), pref?]. */
export type MappingStateEntry = [prefix: string, lb: number, expiresAt: number, pref?: number]

/** The persisted form; see the file header for the meaning of each member. */
export interface MappingState {
  format: typeof MAPPING_STATE_FORMAT
  lbs: {name: string; addrs: string[]}[]
  entries: MappingStateEntry[]
}

/** A persisted mapping that cannot be loaded; the message names the member and what is wrong with it. */
export class MappingStateError extends Error {
  readonly code = 'GLB_MAPPING_STATE'
  constructor(message: string) {
    super(message)
    this.name = 'MappingStateError'
  }
}

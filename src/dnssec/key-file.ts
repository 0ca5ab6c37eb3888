// The key state file (`glb key create`): one zone's private signing key, JSON, mode 0600; read and checked here.
import {createPrivateKey} from 'node:crypto'
import {z} from 'zod'
import {dnsName, dnssecAlgorithm, timestamp} from '../state/fields.js'
import {loadStateFileSync} from '../state/load-state-file.js'
import {StateError} from '../state/state-error.js'
import {writeStateFile} from '../state/write-state-file.js'
import {DnskeyFlag} from './rdata.js'
import {SigningKey} from './signing-key.js'

/** A key file: `privateKey` is PKCS#8 PEM (what node:crypto and openssl read); `expires` null means no end. */
export const keyFileSchema = z.object({
  zone: dnsName,
  algorithm: dnssecAlgorithm,
  flags: z.literal(DnskeyFlag.ZONE | DnskeyFlag.SEP, {error: '257 (a combined signing key: ZONE and SEP)'}).default(257),
  keyTag: z.number().int().min(0).max(65535).optional(),
  created: timestamp,
  expires: timestamp.nullable().default(null),
  privateKey: z.string().startsWith('-----BEGIN PRIVATE KEY-----', {error: 'a PKCS#8 PEM private key'}),
}).strict()

export type KeyFile = z.output<typeof keyFileSchema>

/** The file's JSON for `key` (keyTag is informative: read back, it must match the key). */
export function keyFileContent(key: SigningKey, created: Date): KeyFile {
  return {
    zone: key.zone, algorithm: key.algorithm, flags: 257, keyTag: key.keyTag,
    created: created.toISOString().replace(/\.\d+Z$/, 'Z'),
    expires: key.expires === null ? null : new Date(key.expires * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    privateKey: key.privateKey.export({format: 'pem', type: 'pkcs8'}) as string,
  }
}

/** Writes a key file atomically with mode 0600 from its first byte (never over an existing file). */
export async function writeKeyFile(file: string, key: SigningKey, created = new Date()): Promise<void> {
  const {existsSync} = await import('node:fs')
  if (existsSync(file)) throw new Error(`${file} exists; glb never overwrites a key (move it away or pick another --out)`)
  await writeStateFile(file, keyFileContent(key, created), {secret: true})
}

/**
 * Reads and checks a key file: schema (errors name the file and field), a private key that parses and is of
 * the declared algorithm, the key tag if given, and not expired at `now` (seconds since 1970), which is what
 * the role checks at start and on every reload.
 */
export function loadKeyFile(file: string, now = Math.floor(Date.now() / 1000)): SigningKey {
  const kf = loadStateFileSync(file, keyFileSchema)
  const invalid = (field: string, expected: string, got: string) =>
    new StateError(`${file}: ${field}: expected ${expected}, got ${got}`, 'invalid', file, field, expected)
  let key: SigningKey
  try {
    const pk = createPrivateKey(kf.privateKey)
    const kind = pk.asymmetricKeyType
    const curve = pk.asymmetricKeyDetails?.namedCurve
    if (kf.algorithm === 13 ? kind !== 'ec' || curve !== 'prime256v1' : kind !== 'ed25519') {
      throw invalid('privateKey', `an ${kf.algorithm === 13 ? 'ECDSA P-256' : 'Ed25519'} key (algorithm ${kf.algorithm})`, `an ${kind}${curve ? ` ${curve}` : ''} key`)
    }
    const expires = kf.expires === null ? null : Math.floor(Date.parse(kf.expires) / 1000)
    key = new SigningKey(kf.zone, kf.algorithm, pk, undefined, expires)
  } catch (err) {
    if (err instanceof StateError) throw err
    throw invalid('privateKey', 'a PKCS#8 PEM private key', 'one that does not parse (value hidden)')
  }
  if (kf.keyTag !== undefined && kf.keyTag !== key.keyTag) throw invalid('keyTag', `${key.keyTag} (the tag of this private key)`, String(kf.keyTag))
  if (key.expires !== null && key.expires <= now) {
    throw new StateError(`${file}: expires: the key expired at ${kf.expires}; create a new key (glb key create) and publish its DS`, 'invalid', file, 'expires', 'a time in the future')
  }
  return key
}

/** What `glb key create` and `glb key ds` print about a key. */
export interface KeyDescription {
  zone: string
  algorithm: number
  keyTag: number
  expires: string | null
  /** The parent's DS record, presentation form. */
  ds: string
  /** The DNSKEY record, presentation form. */
  dnskey: string
  file: string
}

function describe(key: SigningKey, file: string): KeyDescription {
  return {
    zone: key.zone, algorithm: key.algorithm, keyTag: key.keyTag, file,
    expires: key.expires === null ? null : new Date(key.expires * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    ds: key.dsRecordText(), dnskey: key.dnskeyRecordText(),
  }
}

/** `glb key create`: checks the inputs (errors carry `usage: true`), generates a CSK and writes its file. */
export async function createKeyFile(o: {zone: string; algorithm: 13 | 15; out: string; expires?: string}): Promise<KeyDescription> {
  const usage = (message: string) => Object.assign(new Error(message), {usage: true})
  const zone = dnsName.safeParse(o.zone)
  if (!zone.success) throw usage(`--zone: expected a DNS name, got "${o.zone}"`)
  let expires: number | null = null
  if (o.expires !== undefined) {
    if (!timestamp.safeParse(o.expires).success) throw usage(`--expires: expected a UTC time in ISO 8601 form (e.g. "2027-01-31T00:00:00Z"), got "${o.expires}"`)
    expires = Math.floor(Date.parse(o.expires) / 1000)
    if (expires <= Date.now() / 1000) throw usage(`--expires: expected a time in the future, got ${o.expires}`)
  }
  const key = SigningKey.generate(zone.data, o.algorithm, expires)
  await writeKeyFile(o.out, key)
  return describe(key, o.out)
}

/** `glb key ds`: the DS and DNSKEY of a key file (loaded and checked as a role would). */
export function describeKeyFile(file: string): KeyDescription {
  return describe(loadKeyFile(file), file)
}

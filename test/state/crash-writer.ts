// Child process for atomic-write.test.ts: writes ever-newer self-checking versions of a large file until killed.
import {writeStateFile} from '../../src/state/write-state-file.js'

const [file, entriesText, startText] = process.argv.slice(2)
const entries = Number(entriesText)
let version = Number(startText)

// Every entry repeats the version, so a reader can tell a complete version from a torn mix of two.
const make = (v: number) => ({version: v, entries: Array.from({length: entries}, (_, i) => ({i, v, pad: 'x'.repeat(i % 40)}))})

process.stdout.write('ready\n')
for (;;) {
  version++
  await writeStateFile(file, make(version), {secret: version % 2 === 0})
}

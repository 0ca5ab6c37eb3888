// Writes oclif.manifest.json from the compiled commands in dist/ (run by `npm run build`). With it, oclif lists
// commands and prints help from this JSON instead of importing every command module (and the whole core behind
// them) at start-up; a command's own module is loaded only when it runs.
import {writeFileSync} from 'node:fs'
import {Plugin} from '@oclif/core'

const root = new URL('..', import.meta.url).pathname
const plugin = new Plugin({root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true})
await plugin.load()
writeFileSync(new URL('../oclif.manifest.json', import.meta.url), JSON.stringify(plugin.manifest, null, 2) + '\n')
console.log(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`)

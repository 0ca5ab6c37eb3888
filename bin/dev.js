#!/usr/bin/env -S node --import tsx --no-warnings
// Development launcher: runs the TypeScript sources through tsx, no build step. oclif's own tsx registration
// fails with tsx 4.23 (it imports a file tsx no longer ships), so point the command discovery at src/ directly,
// and ignore oclif.manifest.json: it describes (and would load) the compiled commands in dist/.
import {readFileSync} from 'node:fs'
import {register} from 'tsx/esm/api'
import {Config, Plugin, flush, handle, run} from '@oclif/core'

register() // so `node bin/dev.js` works as well as the shebang
const root = new URL('..', import.meta.url).pathname
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
pjson.oclif = {...pjson.oclif, commands: './src/commands'}
try {
  const rootPlugin = new Plugin({root, pjson, isRoot: true, type: 'core', ignoreManifest: true})
  await rootPlugin.load()
  const config = await Config.load({root, pjson, plugins: new Map([[rootPlugin.name, rootPlugin]])})
  await config.loadPluginsAndCommands({force: true}) // the plugins package.json names (help), as Config.load would
  await run(process.argv.slice(2), config)
  await flush()
} catch (err) {
  await handle(err)
}

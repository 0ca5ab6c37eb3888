// Shell completion from dist/ (@oclif/plugin-autocomplete): `glb autocomplete --help` works, and the bash
// completion it generates completes glb's own commands and flags when bash runs it.
// glb-test-timeout: 90
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFile} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {distIsFresh} from '../helpers/cli.js'
import {requires} from '../helpers/env.js'

const root = new URL('../..', import.meta.url).pathname

/** Runs `cmd args` with extra environment; resolves with exit code and output. */
function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(cmd, args, {cwd: root, timeout: 30_000, env: {...process.env, NO_COLOR: '1', ...env}}, (err, stdout, stderr) => {
      resolve({code: err ? (typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : -1) : 0, stdout, stderr})
    })
  })
}
const glb = (args: string[], env: Record<string, string> = {}) => run(process.execPath, [join(root, 'bin/run.js'), ...args], env)

test('dist is built from the current sources (npm run build), so what follows tests this code', () => {
  assert.ok(distIsFresh(), 'dist/ is older than src/: run npm run build')
})

test('glb autocomplete --help works from dist and lists the shells', async () => {
  const r = await glb(['autocomplete', '--help'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /\$ glb autocomplete \[SHELL\]/)
  assert.match(r.stdout, /zsh\|bash\|powershell/)
  const top = await glb(['--help'])
  assert.match(top.stdout, /\n {2}autocomplete /, 'glb --help lists autocomplete')
})

requires(['bash'], test).test('bash completes glb\'s commands and flags (cache in a temporary GLB_CACHE_DIR)', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'glb-ac-'))
  try {
    const env = {GLB_CACHE_DIR: cache}
    const script = await glb(['autocomplete', 'script', 'bash'], env)
    assert.is(script.code, 0, script.stderr)
    assert.ok(script.stdout.includes(join(cache, 'autocomplete', 'bash_setup')), script.stdout)
    const refresh = await glb(['autocomplete', '--refresh-cache'], env)
    assert.is(refresh.code, 0, refresh.stderr)
    // What a user's .bashrc runs (the printed line), then what bash does on TAB: COMP_WORDS -> COMPREPLY.
    const complete = (words: string[]) => run('bash', ['-c', [
      script.stdout.trim(),
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${words.join(' ')}'; COMP_POINT=\${#COMP_LINE}`,
      '_glb_autocomplete; printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n')], env).then((r) => ({...r, words: [...new Set(r.stdout.split('\n').filter(Boolean))].sort()}))
    // (The plugin's bash function lists a topic once per subcommand; readline shows each match once.)
    const topics = await complete(['glb', 'ma'])
    assert.is(topics.code, 0, topics.stderr)
    assert.equal(topics.words, ['map'])
    const sub = await complete(['glb', 'map', ''])
    assert.equal(sub.words, ['list', 'register', 'remove'])
    const flags = await complete(['glb', 'probe', '--re'])
    assert.equal(flags.words, ['--resolver'])
    const mapFlags = await complete(['glb', 'map', 'list', '--'])
    for (const f of ['--b', '--key', '--zone', '--json']) assert.ok(mapFlags.words.includes(f), `${f} in ${mapFlags.stdout}`)
  } finally {
    rmSync(cache, {recursive: true, force: true})
  }
})

test.run()

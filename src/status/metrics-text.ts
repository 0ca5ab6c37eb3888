// Reads the samples of a Prometheus text exposition (what a role's /metrics sends), for `glb status --metrics`.
//
// Hand-written: the npm parsers for this format are unmaintained, and glb reads only its own prom-client output:
// sample lines `name{label="value",...} number`, label values escaped as \\, \" and \n (text format 0.0.4).

/** One sample line. */
export interface MetricSample {
  name: string
  labels: Record<string, string>
  value: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy

/** Every sample of `text`; comment lines (# HELP, # TYPE) and lines that are not samples are skipped. */
export function parseMetricsText(text: string): MetricSample[] {
  const out: MetricSample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    if (m[2]) {
      LABEL.lastIndex = 0
      let l: RegExpExecArray | null
      while ((l = LABEL.exec(m[2])) !== null) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3])
    out.push({name: m[1]!, labels, value})
  }
  return out
}

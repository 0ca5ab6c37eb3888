// Test helper: the fuzz seed (GLB_FUZZ_SEED to repeat a run, else fresh each run) and the packet count per role.

/** The seed for this run: printed by each fuzz test so a failure can be replayed with GLB_FUZZ_SEED=N. */
export function fuzzSeed(): number {
  const env = process.env.GLB_FUZZ_SEED
  if (env && /^\d+$/.test(env)) return Number(env) >>> 0
  return (Date.now() ^ (process.pid << 16)) >>> 0
}

/** Packets per role (issue #8: at least 100,000 per CI run); GLB_FUZZ_PACKETS overrides for a quick local run. */
export function fuzzPackets(): {udp: number; tcp: number} {
  const total = Number(process.env.GLB_FUZZ_PACKETS ?? 100_000)
  const tcp = Math.round(total * 0.15)
  return {udp: total - tcp, tcp}
}

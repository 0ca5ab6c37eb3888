// The score a server gets for selection: lower is better. One formula, documented here and nowhere else.

/** How load, loss and cost weigh against RTT. All default so that, with nothing configured, score = SRTT. */
export interface ScorePolicy {
  /** How much a full server's RTT is inflated: at loadWeight 1, a server at 100 % load scores 2 × SRTT. Default 1. */
  loadWeight?: number
  /** Milliseconds added per unit of configured cost. Default 1. */
  costWeight?: number
  /** How much loss inflates RTT: at lossWeight 1, 50 % loss scores 1.5 × SRTT. Default 0 (loss ignored). */
  lossWeight?: number
}

/** What the score reads about one server. */
export interface ScoreInput {
  srttMs: number
  /** Load as a fraction of capacity (0 = idle, 1 = full; may exceed 1). */
  loadFraction: number
  /** Recent loss, 0-1. */
  loss: number
  /** Configured cost (e.g. transit price); 0 when none. */
  cost: number
  /** Static weight > 0; a weight of 2 halves the score (the server is twice as preferred). */
  weight: number
}

/**
 * score = ( SRTT · (1 + loadWeight · loadFraction) · (1 + lossWeight · loss) + costWeight · cost ) / weight
 *
 * In milliseconds-equivalent, so the hysteresis margin (ms or relative) applies to it directly. RTT is
 * the base because the client's latency is what a client-centric GSLB sells; load and loss stretch it
 * multiplicatively (a busy server is slower in proportion), cost is an additive price in ms, and weight
 * scales the lot (like gdnsd's weighted resources).
 */
export function score(input: ScoreInput, policy: ScorePolicy = {}): number {
  const load = 1 + (policy.loadWeight ?? 1) * input.loadFraction
  const loss = 1 + (policy.lossWeight ?? 0) * input.loss
  return (input.srttMs * load * loss + (policy.costWeight ?? 1) * input.cost) / input.weight
}

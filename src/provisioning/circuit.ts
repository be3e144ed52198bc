/**
 * A vendor credential's circuit. After `failures` transient failures in a row it opens: calls wait instead
 * of hammering a vendor that is down. When the open period ends, one call goes through as a probe; its
 * success closes the circuit, its failure opens it again for twice as long (up to `maxOpenMs`). Pure
 * functions over the state the store keeps with the credential's rate limiter.
 */

export interface CircuitConfig {
  /** Transient failures in a row that open the circuit. */
  failures: number;
  /** How long it stays open the first time. */
  openMs: number;
  maxOpenMs: number;
  /** How long a probe may take before another call may probe. */
  probeMs: number;
}

export interface CircuitState {
  failures: number;
  /** While open: until when (store clock, ms); 0 when closed. */
  openUntil: number;
  /** How many times it opened in a row (the open period doubles each time). */
  opens: number;
  /** A probe is out until then (0: none). */
  probeUntil: number;
}

export function closedCircuit(): CircuitState {
  return { failures: 0, openUntil: 0, opens: 0, probeUntil: 0 };
}

export type Gate =
  { go: true; probe: boolean; circuit: CircuitState } | { go: false; retryInMs: number; reason: "circuit open" | "probe in flight"; circuit: CircuitState };

/** Whether a call may go now: always when closed; once the open period is over, one probe at a time. */
export function admitThrough(state: CircuitState, config: CircuitConfig, now: number): Gate {
  if (state.openUntil === 0) return { go: true, probe: false, circuit: state };
  if (now < state.openUntil) return { go: false, retryInMs: state.openUntil - now, reason: "circuit open", circuit: state };
  if (now < state.probeUntil) return { go: false, retryInMs: Math.min(1000, state.probeUntil - now), reason: "probe in flight", circuit: state };
  return { go: true, probe: true, circuit: { ...state, probeUntil: now + config.probeMs } };
}

/**
 * The circuit after a call's answer. Throttling and refusals show the vendor is up (they close a probing
 * circuit and reset the count); only failures (5xx, unreachable, timeouts) count towards opening it.
 */
export function circuitAfter(
  state: CircuitState,
  config: CircuitConfig,
  now: number,
  result: "success" | "refused" | "throttled" | "failed",
  probe: boolean,
): CircuitState {
  if (result !== "failed") return probe || state.openUntil === 0 ? closedCircuit() : state;
  const failures = state.failures + 1;
  const reopen = probe || (state.openUntil === 0 && failures >= config.failures);
  if (!reopen) return { ...state, failures };
  const opens = state.opens + 1;
  return { failures, opens, openUntil: now + Math.min(config.maxOpenMs, config.openMs * 2 ** (opens - 1)), probeUntil: 0 };
}

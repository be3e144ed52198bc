/**
 * A vendor credential's circuit. After `failures` transient failures in a row it opens: calls wait instead
 * of hammering a vendor that is down. When the open period ends, one call goes through as a probe; its
 * success closes the circuit, its failure opens it again for twice as long (up to `maxOpenMs`).
 *
 * The doubling is for work that can wait. A deprovisioning cannot: while the circuit is open, one
 * deprovisioning probes the vendor every `probeEveryMs`, whatever the open period says, so a vendor that is
 * back is noticed within seconds and a leaver's access goes with the first call it takes. The circuit keeps
 * load off a vendor that is down, not a single call. Pure functions over the state the store keeps with the
 * credential's rate limiter.
 */

export interface CircuitConfig {
  /** Transient failures in a row that open the circuit. */
  failures: number;
  /** How long it stays open the first time. */
  openMs: number;
  maxOpenMs: number;
  /** How long a probe may take before another call may probe. */
  probeMs: number;
  /** While open, a deprovisioning probes this often (never at the doubling's pace). */
  probeEveryMs: number;
}

export interface CircuitState {
  failures: number;
  /** While open: until when (store clock, ms); 0 when closed. */
  openUntil: number;
  /** How many times it opened in a row (the open period doubles each time). */
  opens: number;
  /** A probe is out until then (0: none). */
  probeUntil: number;
  /** While open: when a deprovisioning may next probe. */
  deprovisionProbeAt: number;
  /**
   * A deprovisioning held back was told to come back for the next probe; until then the others held wait
   * longer (they would all come at once otherwise). 0: none told.
   */
  probeBookedUntil: number;
}

export function closedCircuit(): CircuitState {
  return { failures: 0, openUntil: 0, opens: 0, probeUntil: 0, deprovisionProbeAt: 0, probeBookedUntil: 0 };
}

export type Gate =
  { go: true; probe: boolean; circuit: CircuitState } | { go: false; retryInMs: number; reason: "circuit open" | "probe in flight"; circuit: CircuitState };

function probing(state: CircuitState, config: CircuitConfig, now: number): Gate {
  return { go: true, probe: true, circuit: { ...state, probeUntil: now + config.probeMs, deprovisionProbeAt: now + config.probeEveryMs, probeBookedUntil: 0 } };
}

/**
 * Whether a call may go now: always when closed; once the open period is over, one probe at a time; and
 * while it is open, a deprovisioning every `probeEveryMs`. Of the deprovisionings held back, the first is
 * told when the next probe may go; the others are told the open period's end (the outbox's own cap for
 * deprovisioning brings them back sooner).
 */
export function admitThrough(state: CircuitState, config: CircuitConfig, now: number, deprovision = false): Gate {
  if (state.openUntil === 0) return { go: true, probe: false, circuit: state };
  if (now >= state.openUntil) {
    if (now < state.probeUntil) return { go: false, retryInMs: Math.min(1000, state.probeUntil - now), reason: "probe in flight", circuit: state };
    return probing(state, config, now);
  }
  const held = { go: false as const, reason: "circuit open" as const, retryInMs: state.openUntil - now, circuit: state };
  if (!deprovision) return held;
  const turn = state.deprovisionProbeAt;
  if (now >= turn) {
    // A probe that hangs (a vendor slower than the deadline) is waited for, a second at a time.
    if (now < state.probeUntil) return { go: false, retryInMs: Math.min(1000, state.probeUntil - now), reason: "probe in flight", circuit: state };
    return probing(state, config, now);
  }
  if (now < state.probeBookedUntil) return held;
  // Booked until a while after its turn: one that never comes (its process stopped) does not keep the turn.
  return { ...held, retryInMs: turn - now, circuit: { ...state, probeBookedUntil: turn + config.probeEveryMs } };
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
  return {
    ...state,
    failures,
    opens,
    openUntil: now + Math.min(config.maxOpenMs, config.openMs * 2 ** (opens - 1)),
    probeUntil: 0,
    // Just opened: the first deprovisioning probe comes one interval on (a probe that failed set its own).
    deprovisionProbeAt: state.openUntil === 0 ? now + config.probeEveryMs : state.deprovisionProbeAt,
  };
}

/** Whether an answer closed a circuit that was open: the vendor is back. */
export function recovered(before: CircuitState, after: CircuitState): boolean {
  return before.openUntil !== 0 && after.openUntil === 0;
}

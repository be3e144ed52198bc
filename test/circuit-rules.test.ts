/**
 * A vendor credential's circuit (src/provisioning/circuit.ts) at its edges: when it opens, how long for,
 * what a probe is allowed and what it leaves behind, what answers from calls sent before it opened do, and
 * how deprovisionings take their turns while it is open.
 */
import { admitThrough, circuitAfter, closedCircuit, recovered, type CircuitConfig, type CircuitState } from "../src/provisioning/circuit";

const config: CircuitConfig = { failures: 3, openMs: 1_000, maxOpenMs: 8_000, probeMs: 500, probeEveryMs: 2_000 };

/** Opened at `at` by `config.failures` failures in a row. */
function openedAt(at: number): CircuitState {
  let state = closedCircuit();
  for (let i = 0; i < config.failures; i++) state = circuitAfter(state, config, at, "failed", false);
  return state;
}

describe("opening", () => {
  it("a closed circuit lets every call through, none as a probe", () => {
    expect(admitThrough(closedCircuit(), config, 123)).toEqual({ go: true, probe: false, circuit: closedCircuit() });
    expect(admitThrough(closedCircuit(), config, 123, true)).toEqual({ go: true, probe: false, circuit: closedCircuit() });
  });

  it("counts failures in a row and opens at exactly `failures` of them, for openMs", () => {
    let state = closedCircuit();
    state = circuitAfter(state, config, 10, "failed", false);
    expect(state).toEqual({ ...closedCircuit(), failures: 1 });
    state = circuitAfter(state, config, 20, "failed", false);
    expect(state).toEqual({ ...closedCircuit(), failures: 2 });
    state = circuitAfter(state, config, 30, "failed", false);
    expect(state).toEqual({ failures: 3, opens: 1, openUntil: 1_030, probeUntil: 0, deprovisionProbeAt: 2_030, probeBookedUntil: 0 });
  });

  it("one failure opens a circuit configured for one", () => {
    expect(circuitAfter(closedCircuit(), { ...config, failures: 1 }, 0, "failed", false).openUntil).toBe(1_000);
  });

  it("answers to calls sent before it opened neither close it nor push it further open", () => {
    const open = openedAt(0);
    for (const result of ["success", "refused", "throttled"] as const) expect(circuitAfter(open, config, 100, result, false)).toBe(open);
    expect(circuitAfter(open, config, 100, "failed", false)).toEqual({ ...open, failures: 4 });
  });
});

describe("probing", () => {
  it("once the open period is over (at its very end), one call goes as a probe", () => {
    const open = openedAt(0);
    expect(admitThrough(open, config, 999)).toEqual({ go: false, retryInMs: 1, reason: "circuit open", circuit: open });
    const gate = admitThrough(open, config, 1_000);
    expect(gate).toEqual({ go: true, probe: true, circuit: { ...open, probeUntil: 1_500, deprovisionProbeAt: 3_000, probeBookedUntil: 0 } });
  });

  it("while a probe is out the others are told to look again within a second, or when it is due", () => {
    const probing = (admitThrough(openedAt(0), config, 1_000) as { circuit: CircuitState }).circuit;
    expect(admitThrough(probing, config, 1_200)).toEqual({ go: false, retryInMs: 300, reason: "probe in flight", circuit: probing });
    const slow = (admitThrough(openedAt(0), { ...config, probeMs: 5_000 }, 1_000) as { circuit: CircuitState }).circuit;
    expect(admitThrough(slow, config, 1_200)).toMatchObject({ go: false, retryInMs: 1_000, reason: "probe in flight" });
    // A probe that never answers (its process stopped) stops blocking when its time is up.
    expect(admitThrough(probing, config, 1_500)).toMatchObject({ go: true, probe: true });
  });

  it("a probe's success, refusal or throttling closes it: the vendor answers", () => {
    for (const result of ["success", "refused", "throttled"] as const) {
      const gate = admitThrough(openedAt(0), config, 1_000);
      const after = circuitAfter(gate.circuit, config, 1_100, result, true);
      expect(after).toEqual(closedCircuit());
      expect(recovered(gate.circuit, after)).toBe(true);
    }
  });

  it("a failed probe opens it again for twice as long each time, up to maxOpenMs", () => {
    let state = openedAt(0);
    const periods: number[] = [];
    for (let k = 0; k < 6; k++) {
      const now = state.openUntil;
      const gate = admitThrough(state, config, now);
      state = circuitAfter(gate.circuit, config, now, "failed", true);
      periods.push(state.openUntil - now);
      expect(state.probeUntil).toBe(0);
    }
    expect(periods).toEqual([2_000, 4_000, 8_000, 8_000, 8_000, 8_000]);
    expect(state.opens).toBe(7);
  });

  it("recovered: only an answer that closed an open circuit", () => {
    expect(recovered(openedAt(0), closedCircuit())).toBe(true);
    expect(recovered(openedAt(0), openedAt(0))).toBe(false);
    expect(recovered(closedCircuit(), closedCircuit())).toBe(false);
    expect(recovered({ ...closedCircuit(), failures: 2 }, closedCircuit())).toBe(false);
  });
});

describe("deprovisionings while it is open", () => {
  it("the first probes probeEveryMs after the circuit opened (at that very moment), the rest of the work waits the period out", () => {
    const open = { ...openedAt(0), openUntil: 30_000 };
    expect(admitThrough(open, config, 1_999, true)).toMatchObject({ go: false, retryInMs: 1, reason: "circuit open" });
    const gate = admitThrough(open, config, 2_000, true);
    expect(gate).toEqual({ go: true, probe: true, circuit: { ...open, probeUntil: 2_500, deprovisionProbeAt: 4_000, probeBookedUntil: 0 } });
    expect(admitThrough(open, config, 2_000, false)).toEqual({ go: false, retryInMs: 28_000, reason: "circuit open", circuit: open });
  });

  it("a probe still out when the turn comes is waited for, a second at a time; then the turn is taken", () => {
    const open = { ...openedAt(0), openUntil: 30_000, probeUntil: 2_400 };
    expect(admitThrough(open, config, 2_000, true)).toEqual({ go: false, retryInMs: 400, reason: "probe in flight", circuit: open });
    expect(admitThrough({ ...open, probeUntil: 9_000 }, config, 2_000, true)).toMatchObject({ retryInMs: 1_000, reason: "probe in flight" });
    expect(admitThrough(open, config, 2_400, true)).toMatchObject({ go: true, probe: true });
  });

  it("the first held is booked for the next turn; the others are told the open period's end until a while after it", () => {
    const open = { ...openedAt(0), openUntil: 30_000 };
    const first = admitThrough(open, config, 500, true);
    expect(first).toEqual({ go: false, retryInMs: 1_500, reason: "circuit open", circuit: { ...open, probeBookedUntil: 4_000 } });
    const booked = first.circuit;
    expect(admitThrough(booked, config, 600, true)).toEqual({ go: false, retryInMs: 29_400, reason: "circuit open", circuit: booked });
    expect(admitThrough(booked, config, 1_999, true)).toMatchObject({ retryInMs: 28_001 });
    // The turn came and nobody took it: by the end of the booking, the next one held is booked again.
    expect(admitThrough({ ...booked, deprovisionProbeAt: 6_000 }, config, 4_000, true)).toMatchObject({
      retryInMs: 2_000,
      circuit: { probeBookedUntil: 8_000 },
    });
    expect(admitThrough({ ...booked, deprovisionProbeAt: 6_000 }, config, 3_999, true)).toMatchObject({ retryInMs: 26_001 });
  });

  it("a failed deprovisioning probe keeps the next turn it set; the first opening sets the first", () => {
    const open = { ...openedAt(0), openUntil: 30_000 };
    const gate = admitThrough(open, config, 2_000, true);
    const failed = circuitAfter(gate.circuit, config, 2_100, "failed", true);
    expect(failed.deprovisionProbeAt).toBe(4_000);
    expect(failed.openUntil).toBe(2_100 + 2_000);
    expect(openedAt(500).deprovisionProbeAt).toBe(2_500);
  });
});

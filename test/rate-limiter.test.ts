/**
 * The credential limiter and circuit: pure rules checked over simulated time (including fast-check's
 * arbitrary arrival patterns), and the governor over real stores — SQLite, and PostgreSQL shared by two
 * governors as two replicas would share it.
 */
import fc from "fast-check";
import {
  afterCall,
  CredentialGovernor,
  currentRate,
  freshState,
  HeldBack,
  limitsByCredential,
  reserve,
  type CredentialState,
} from "../src/provisioning/rate-limiter";
import { admitThrough, circuitAfter, closedCircuit, recovered } from "../src/provisioning/circuit";
import { SqliteStore } from "../src/store/sqlite";
import { PostgresStore } from "../src/store/postgres";
import { POSTGRES_URL } from "./helpers/stores";

const circuit = { failures: 3, openMs: 1_000, maxOpenMs: 8_000, probeMs: 500, probeEveryMs: 2_000 };
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);

/** The most of `times` (ms) inside any half-open window of `window` ms. */
function densest(times: number[], window = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= window) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** Slots handed out to callers arriving at `arrivals` (ms), as the store would hand them out in order. */
function slotsFor(arrivals: number[], perSecond: number): number[] {
  let state: CredentialState = freshState({ perSecond }, 0);
  const slots: number[] = [];
  for (const now of [...arrivals].sort((a, b) => a - b)) {
    const r = reserve(state, { perSecond }, circuit, now, Number.POSITIVE_INFINITY);
    state = r.state;
    if (r.admission.go) slots.push(now + r.admission.waitMs);
  }
  return slots;
}

describe("rate limiter rules", () => {
  it("never more calls in any one-second window than the rate, whatever the arrivals (no burst at start)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 400 }), fc.integer({ min: 1, max: 50 }), (arrivals, perSecond) => {
        expect(densest(slotsFor(arrivals, perSecond))).toBeLessThanOrEqual(perSecond);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("keeps close to the rate under load: 2,000 calls at 20/s take about 100 s, not much more", () => {
    const slots = slotsFor(
      Array.from({ length: 2000 }, () => 0),
      20,
    );
    const span = (slots[slots.length - 1]! - slots[0]!) / 1000;
    expect(span).toBeGreaterThan(99);
    // Slots are spaced 8 % wider than 1/rate: about 108 s, never more than 109.
    expect(span).toBeLessThan(109);
  });

  it("cuts the rate on throttling of calls spaced at the current rate, honours Retry-After, and recovers", () => {
    const limit = { perSecond: 20 };
    let state = freshState(limit, 0);
    state = afterCall(state, limit, circuit, 5_000, "throttled", undefined, false, 4_900);
    expect(currentRate(state, limit, 5_000)).toBe(10);
    // A call reserved before that cut, throttled: nothing new, no second cut.
    state = afterCall(state, limit, circuit, 5_100, "throttled", undefined, false, 4_950);
    expect(currentRate(state, limit, 5_100)).toBeCloseTo(10 + (20 / 30) * 0.1, 5);
    // One reserved after it, throttled too: the rate is still too high.
    state = afterCall(state, limit, circuit, 5_200, "throttled", 3, false, 5_150);
    expect(currentRate(state, limit, 5_200)).toBeCloseTo((10 + (20 / 30) * 0.2) / 2, 5);
    expect(state.nextSlot).toBeGreaterThanOrEqual(8_200);
    expect(currentRate(state, limit, 5_200 + 60_000)).toBe(20);
  });

  it("targets sharing a credential share the strictest of their rates", () => {
    expect(
      limitsByCredential([
        { credential: "a", limit: { perSecond: 9 } },
        { credential: "a", limit: { perSecond: 3 } },
        { credential: "b", limit: { perSecond: 7 } },
      ]),
    ).toEqual(
      new Map([
        ["a", { perSecond: 3 }],
        ["b", { perSecond: 7 }],
      ]),
    );
  });
});

describe("circuit rules", () => {
  it("opens after the failures in a row, lets one probe through after the open period, closes on its success", () => {
    let state = closedCircuit();
    for (let i = 0; i < 2; i++) state = circuitAfter(state, circuit, 0, "failed", false);
    expect(admitThrough(state, circuit, 0).go).toBe(true);
    state = circuitAfter(state, circuit, 0, "failed", false);
    expect(admitThrough(state, circuit, 500)).toMatchObject({ go: false, reason: "circuit open", retryInMs: 500 });
    const probe = admitThrough(state, circuit, 1_000);
    expect(probe).toMatchObject({ go: true, probe: true });
    state = probe.circuit;
    expect(admitThrough(state, circuit, 1_100)).toMatchObject({ go: false, reason: "probe in flight" });
    expect(circuitAfter(state, circuit, 1_200, "success", true)).toEqual(closedCircuit());
  });

  it("a failed probe opens it again for twice as long, up to the maximum; refusals and throttling do not count", () => {
    let state = closedCircuit();
    for (let i = 0; i < 3; i++) state = circuitAfter(state, circuit, 0, "failed", false);
    state = circuitAfter(state, circuit, 1_000, "failed", true);
    expect(state.openUntil).toBe(3_000);
    for (let k = 0; k < 6; k++) state = circuitAfter(state, circuit, 10_000, "failed", true);
    expect(state.openUntil - 10_000).toBe(circuit.maxOpenMs);
    let calm = closedCircuit();
    for (let i = 0; i < 10; i++) calm = circuitAfter(calm, circuit, 0, i % 2 ? "refused" : "throttled", false);
    expect(calm).toEqual(closedCircuit());
  });
});

describe("deprovisionings and an open circuit", () => {
  /** Opened at 0 after three failures; open for 1 s, then 2, 4, up to 8 s on failed probes. */
  function opened(): ReturnType<typeof closedCircuit> {
    let state = closedCircuit();
    for (let i = 0; i < 3; i++) state = circuitAfter(state, circuit, 0, "failed", false);
    return state;
  }

  it("a deprovisioning probes every probeEveryMs while the doubling keeps other work waiting for minutes", () => {
    let state = opened();
    // Ten failed probes: the open period is at its maximum, the deprovisionings' probes stay 2 s apart.
    const probes: number[] = [];
    for (let now = 0; now <= 30_000; now += 100) {
      const gate = admitThrough(state, circuit, now, true);
      if (!gate.go) {
        state = gate.circuit;
        continue;
      }
      probes.push(now);
      state = circuitAfter(gate.circuit, circuit, now + 50, "failed", true);
    }
    // The first at the end of the first open period, as any call's; then every 2 s.
    expect(probes.slice(0, 4)).toEqual([1_000, 3_000, 5_000, 7_000]);
    expect(Math.max(...probes.slice(1).map((p, i) => p - probes[i]!))).toBe(circuit.probeEveryMs);
    expect(state.openUntil - 30_000).toBeGreaterThan(circuit.maxOpenMs / 2);
    expect(admitThrough(state, circuit, 30_050, false)).toMatchObject({ go: false, reason: "circuit open" });
    // The first success closes it for everyone.
    const gate = admitThrough(state, circuit, 32_000, true);
    expect(gate).toMatchObject({ go: true, probe: true });
    const after = circuitAfter(gate.circuit, circuit, 32_050, "success", true);
    expect(after).toEqual(closedCircuit());
    expect(recovered(gate.circuit, after)).toBe(true);
    expect(recovered(closedCircuit(), closedCircuit())).toBe(false);
  });

  it("of the deprovisionings held, the first is told the next probe's time, the others the open period's end; a turn not taken lapses", () => {
    let state = circuitAfter(opened(), circuit, 0, "failed", true); // a failed probe at 0: open until 2 s, next deprovisioning probe at 2 s
    state = { ...state, openUntil: 8_000 };
    const first = admitThrough(state, circuit, 500, true);
    expect(first).toMatchObject({ go: false, retryInMs: 1_500 });
    state = first.circuit;
    expect(admitThrough(state, circuit, 600, true)).toMatchObject({ go: false, retryInMs: 7_400 });
    expect(admitThrough(state, circuit, 600, false)).toMatchObject({ go: false, retryInMs: 7_400 });
    // Nobody came for the 2 s turn: a deprovisioning held at 4.5 s is told to come at once.
    expect(admitThrough(state, circuit, 4_500, true)).toMatchObject({ go: true, probe: true });
  });

  it("a probe's allowance (the vendor's deadline) does not push the next deprovisioning's turn back; a hanging probe is waited for a second at a time", () => {
    const slow = { ...circuit, probeMs: 21_000 };
    let state = { ...opened(), openUntil: 30_000 }; // open for a while yet
    const probe = admitThrough(state, slow, 2_000, true);
    expect(probe).toMatchObject({ go: true, probe: true });
    state = probe.circuit;
    expect(admitThrough(state, slow, 2_100, true)).toMatchObject({ go: false, retryInMs: 1_900 });
    // The probe hangs past the next turn: the turn's deprovisioning looks again in a second, not in 19.
    expect(admitThrough(state, slow, 4_000, true)).toMatchObject({ go: false, reason: "probe in flight", retryInMs: 1_000 });
    state = circuitAfter(state, slow, 4_500, "failed", true);
    expect(admitThrough(state, slow, 4_600, true)).toMatchObject({ go: true, probe: true });
  });

  it("the circuit of a credential written by an earlier release is read with the new fields", async () => {
    const store = new SqliteStore(":memory:");
    await store.migrate();
    const old = { nextSlot: 0, rate: 20, rateAt: 0, circuit: { failures: 5, openUntil: Date.now() + 60_000, opens: 1, probeUntil: 0 } };
    await store.updateCredentialState("c-old", () => ({ state: JSON.stringify(old), result: undefined }));
    const governor = new CredentialGovernor(store, "c-old", { perSecond: 20 }, circuit);
    await expect(governor.admit(AbortSignal.timeout(1_000), 1_000)).rejects.toBeInstanceOf(HeldBack);
    expect(await governor.admit(AbortSignal.timeout(1_000), 1_000, true)).toMatchObject({ probe: true });
    await store.close();
  });
});

describe("governor on a store", () => {
  it("SQLite: spaces calls, and the circuit holds calls back with HeldBack", async () => {
    const store = new SqliteStore(":memory:");
    await store.migrate();
    const governor = new CredentialGovernor(store, "c-1", { perSecond: 50 }, circuit);
    const sent: number[] = [];
    await Promise.all(Array.from({ length: 30 }, async () => (await governor.admit(AbortSignal.timeout(5_000), 5_000), sent.push(performance.now()))));
    expect(densest(sent)).toBeLessThanOrEqual(50);
    expect(sent.length).toBe(30);
    const slot = { probe: false, reservedAt: 0 };
    for (let i = 0; i < 3; i++) await governor.report(slot, "failed");
    await expect(governor.admit(AbortSignal.timeout(1_000), 5_000)).rejects.toBeInstanceOf(HeldBack);
    await store.close();
  });

  it("PostgreSQL: two governors (two replicas) on one credential keep to one rate together", async () => {
    const schema = `t_gov_${process.pid}_${Date.now() % 100000}`;
    const a = new PostgresStore(POSTGRES_URL, { schema });
    await a.migrate();
    const b = new PostgresStore(POSTGRES_URL, { schema });
    try {
      const limit = { perSecond: 20 };
      const replicas = [new CredentialGovernor(a, "c-shared", limit, circuit), new CredentialGovernor(b, "c-shared", limit, circuit)];
      const sent: number[] = [];
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => (await replicas[i % 2]!.admit(AbortSignal.timeout(10_000), 10_000), sent.push(performance.now()))),
      );
      expect(sent.length).toBe(40);
      expect(densest(sent)).toBeLessThanOrEqual(20);
      // Together, not each: 40 calls at 20/s take about two seconds.
      expect(Math.max(...sent) - Math.min(...sent)).toBeGreaterThan(1_800);
    } finally {
      await a.dropSchema();
      await a.close();
      await b.close();
    }
  });
});

/**
 * The credential limiter (src/provisioning/rate-limiter.ts) exactly: slot spacing, the wait bound, the
 * rate's cut and recovery, Retry-After, and the governor over an in-memory store on jest's fake clock —
 * what it writes, what it reports for metrics, when a call that woke late takes a new slot.
 */
import { getEventListeners } from "node:events";
import { closedCircuit, type CircuitConfig } from "../src/provisioning/circuit";
import {
  afterCall,
  CredentialGovernor,
  currentRate,
  freshState,
  HeldBack,
  LATE_TOLERANCE_MS,
  reserve,
  type CredentialState,
  type GovernorEvents,
} from "../src/provisioning/rate-limiter";
import type { CredentialStore } from "../src/store/credentials/port";

const circuit: CircuitConfig = { failures: 3, openMs: 1_000, maxOpenMs: 8_000, probeMs: 500, probeEveryMs: 2_000 };
const limit = { perSecond: 10 };
/** 1/rate, 8 % wider. */
const SPACING = 108;

describe("slots", () => {
  it("a fresh credential has its slot now, at the configured rate, its circuit closed", () => {
    expect(freshState(limit, 5_000)).toEqual({ nextSlot: 5_000, rate: 10, rateAt: 5_000, circuit: closedCircuit() });
  });

  it("calls are given slots 8 % wider than 1/rate, the first at once", () => {
    let state = freshState(limit, 0);
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = reserve(state, limit, circuit, 0, 10_000);
      expect(r.admission).toMatchObject({ go: true, probe: false, rate: 10, reservedAt: 0 });
      waits.push((r.admission as { waitMs: number }).waitMs);
      state = r.state;
    }
    expect(waits.map(Math.round)).toEqual([0, SPACING, 2 * SPACING]);
    expect(Math.round(state.nextSlot)).toBe(3 * SPACING);
  });

  it("a slot in the past is not saved up: a call after a quiet spell goes now, and the next one a spacing later", () => {
    const r = reserve({ ...freshState(limit, 0), nextSlot: 100 }, limit, circuit, 5_000, 10_000);
    expect(r.admission).toMatchObject({ go: true, waitMs: 0, reservedAt: 5_000 });
    expect(Math.round(r.state.nextSlot)).toBe(5_000 + SPACING);
  });

  it("a slot further away than the caller can wait is not taken: it is told when one would be free", () => {
    const state = { ...freshState(limit, 0), nextSlot: 3_000 };
    expect(reserve(state, limit, circuit, 1_000, 1_999)).toEqual({ state, admission: { go: false, retryInMs: 2_000, reason: "rate limit" } });
    expect(reserve(state, limit, circuit, 1_000, 2_000).admission).toMatchObject({ go: true, waitMs: 2_000 });
  });

  it("an open circuit holds the call, and what it books is kept", () => {
    let open = freshState(limit, 0);
    for (let i = 0; i < 3; i++) open = afterCall(open, limit, circuit, 0, "failed");
    open = { ...open, circuit: { ...open.circuit, openUntil: 30_000 } };
    const held = reserve(open, limit, circuit, 500, 10_000, true);
    expect(held.admission).toEqual({ go: false, retryInMs: 1_500, reason: "circuit open" });
    expect(held.state).toEqual({ ...open, circuit: { ...open.circuit, probeBookedUntil: 4_000 } });
    // Its turn: a deprovisioning probes, and the probe is recorded with its slot.
    const probe = reserve(open, limit, circuit, 2_000, 10_000, true);
    expect(probe.admission).toMatchObject({ go: true, probe: true, waitMs: 0 });
    expect(probe.state.circuit).toMatchObject({ probeUntil: 2_500, deprovisionProbeAt: 4_000 });
    // Other work (the default) waits for the open period's end.
    expect(reserve(open, limit, circuit, 2_000, 10_000).admission).toMatchObject({ go: false, reason: "circuit open" });
  });

  it("a probe whose slot is too far away is left to the next caller", () => {
    let open = freshState(limit, 0);
    for (let i = 0; i < 3; i++) open = afterCall(open, limit, circuit, 0, "failed");
    open = { ...open, nextSlot: 5_000 };
    const r = reserve(open, limit, circuit, 1_000, 100);
    expect(r).toEqual({ state: open, admission: { go: false, retryInMs: 4_000, reason: "rate limit" } });
  });
});

describe("the rate after throttling", () => {
  it("halves on a throttled call reserved at the current rate, and climbs back over 30 s", () => {
    const cut = afterCall(freshState(limit, 0), limit, circuit, 1_000, "throttled", undefined, false, 500);
    expect(cut).toMatchObject({ rate: 5, rateAt: 1_000 });
    expect(currentRate(cut, limit, 1_000)).toBe(5);
    expect(currentRate(cut, limit, 16_000)).toBe(10);
    expect(currentRate(cut, limit, 4_000)).toBeCloseTo(6, 10);
    expect(currentRate(cut, limit, 100_000)).toBe(10);
    // A clock a little behind the cut (another replica's) does not lower it further.
    expect(currentRate(cut, limit, 900)).toBe(5);
  });

  it("a call reserved before the last cut says nothing new: no second cut", () => {
    const cut = afterCall(freshState(limit, 0), limit, circuit, 1_000, "throttled", undefined, false, 500);
    const again = afterCall(cut, limit, circuit, 1_000, "throttled", undefined, false, 999);
    expect(again).toMatchObject({ rate: 5, rateAt: 1_000 });
    expect(afterCall(cut, limit, circuit, 1_000, "throttled", undefined, false, 1_000)).toMatchObject({ rate: 2.5 });
  });

  it("never below one call in five seconds", () => {
    let state = freshState({ perSecond: 0.3 }, 0);
    for (let i = 0; i < 5; i++) state = afterCall(state, { perSecond: 0.3 }, circuit, 0, "throttled", undefined, false, 0);
    expect(state.rate).toBe(0.2);
  });

  it("no slot before the vendor's Retry-After, or else one spacing at the new rate", () => {
    expect(afterCall(freshState(limit, 0), limit, circuit, 1_000, "throttled", 7, false, 1_000).nextSlot).toBe(8_000);
    expect(Math.round(afterCall(freshState(limit, 0), limit, circuit, 1_000, "throttled", undefined, false, 1_000).nextSlot)).toBe(1_000 + 2 * SPACING);
    // Slots already booked further out stay.
    expect(afterCall({ ...freshState(limit, 0), nextSlot: 20_000 }, limit, circuit, 1_000, "throttled", 7, false, 1_000).nextSlot).toBe(20_000);
  });

  it("other answers leave the rate and the slots alone and go to the circuit", () => {
    const state = { ...freshState(limit, 0), rate: 4, nextSlot: 900 };
    expect(afterCall(state, limit, circuit, 1_000, "success", 7)).toEqual(state);
    expect(afterCall(state, limit, circuit, 1_000, "failed", 7)).toEqual({ ...state, circuit: { ...state.circuit, failures: 1 } });
  });

  it("a probe's throttling closes the circuit: the vendor answers", () => {
    let state = freshState(limit, 0);
    for (let i = 0; i < 3; i++) state = afterCall(state, limit, circuit, 0, "failed");
    expect(afterCall(state, limit, circuit, 1_000, "throttled", 1, true, 1_000).circuit).toEqual(closedCircuit());
  });
});

describe("HeldBack", () => {
  it("says why in words an operator reads", () => {
    expect(new HeldBack(5, "circuit open")).toMatchObject({
      name: "HeldBack",
      retryInMs: 5,
      why: "circuit open",
      message: "the vendor failed repeatedly, so its circuit is open: calls wait instead of hammering it",
    });
    expect(new HeldBack(5, "probe in flight").message).toBe("the vendor's circuit is letting one probe call through; the others wait for it");
    expect(new HeldBack(5, "rate limit").message).toBe("the credential's rate limit has no slot free soon enough");
  });
});

/**
 * A store that keeps credential rows in memory, with the fake clock as its clock, counting writes; each
 * write takes `writeMs` of that clock after the row was read.
 */
function memoryStore(rows = new Map<string, string>(), writeMs = 0) {
  let writes = 0;
  const store: CredentialStore = {
    update: async <T>(credential: string, change: (state: string | undefined, now: number) => { state: string; result: T }) => {
      const { state, result } = change(rows.get(credential), performance.now());
      if (writeMs > 0) jest.advanceTimersByTime(writeMs);
      rows.set(credential, state);
      writes++;
      return result;
    },
  };
  return { store, rows, writes: () => writes };
}

function recorder() {
  const heard: string[] = [];
  const events: GovernorEvents = {
    waited: (c, s) => heard.push(`${c} waited ${s}`),
    rate: (c, r) => heard.push(`${c} rate ${r}`),
    circuit: (c, open) => heard.push(`${c} circuit ${open ? "open" : "closed"}`),
    recovered: (c) => heard.push(`${c} recovered`),
  };
  return { heard, events };
}

const stateOf = (rows: Map<string, string>, credential = "c1") => JSON.parse(rows.get(credential)!) as CredentialState;

describe("the governor", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it("waits for each call's slot, and tells the metrics the rate and the wait", async () => {
    const { store } = memoryStore();
    const { heard, events } = recorder();
    const governor = new CredentialGovernor(store, "c1", limit, circuit, events);
    const signal = new AbortController().signal;
    const start = performance.now();
    expect(await governor.admit(signal, 5_000)).toEqual({ probe: false, reservedAt: start });
    const second = governor.admit(signal, 5_000);
    let done = false;
    void second.then(() => (done = true));
    await jest.advanceTimersByTimeAsync(SPACING - 1);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(heard).toEqual(["c1 rate 10", "c1 waited 0", "c1 rate 10", `c1 waited ${((1000 / 10) * 1.08) / 1000}`]);
    // A run makes many calls under one signal: a wait that ended leaves no listener on it.
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });

  it("the store's write counts towards the wait: a call goes out at its slot, not that much after it", async () => {
    const { store, writes } = memoryStore(new Map(), 8);
    const governor = new CredentialGovernor(store, "c1", limit, circuit);
    const signal = new AbortController().signal;
    const start = performance.now();
    // The first slot is now: the call goes at once, not after a timer (on a busy event loop a timer fires late).
    let first: unknown;
    governor.admit(signal, 5_000).then(
      () => (first = "sent"),
      (error: unknown) => (first = error),
    );
    for (let i = 0; i < 20 && first === undefined; i++) await Promise.resolve();
    expect(first).toBe("sent");
    // The next slot is a spacing after the first: the 8 ms its write took are not waited on top.
    let sentAfter: unknown;
    governor.admit(signal, 5_000).then(
      () => (sentAfter = Math.round(performance.now() - start)),
      (error: unknown) => (sentAfter = error),
    );
    await jest.advanceTimersByTimeAsync(3 * SPACING);
    expect(sentAfter).toBe(SPACING);
    expect(writes()).toBe(2);
  });

  it("a call that woke too late for its slot takes a new one; a deprovisioning is allowed 40 ms, other work 10", async () => {
    for (const [late, deprovision, slots] of [
      [LATE_TOLERANCE_MS, false, 2],
      [LATE_TOLERANCE_MS + 5, false, 3],
      [40, true, 2],
      [45, true, 3],
    ] as const) {
      const { store, writes } = memoryStore();
      const governor = new CredentialGovernor(store, "c1", limit, circuit);
      const signal = new AbortController().signal;
      await governor.admit(signal, 5_000);
      const second = governor.admit(signal, 5_000, deprovision);
      await Promise.resolve();
      await Promise.resolve();
      // A busy event loop: the timer fires on time, the call runs `late` ms after.
      jest.advanceTimersByTime(SPACING + late);
      await jest.advanceTimersByTimeAsync(SPACING * 2);
      await second;
      expect([late, deprovision, writes()]).toEqual([late, deprovision, slots]);
    }
  });

  it("held by the circuit: HeldBack, and the metrics hear the circuit is open; held by the rate: HeldBack alone", async () => {
    const { store, rows } = memoryStore();
    const { heard, events } = recorder();
    const governor = new CredentialGovernor(store, "c1", limit, circuit, events);
    const signal = new AbortController().signal;
    await governor.admit(signal, 5_000);
    await expect(governor.admit(signal, 50)).rejects.toMatchObject({ name: "HeldBack", why: "rate limit" });
    expect(heard.filter((h) => h.includes("circuit"))).toEqual([]);
    const slot = { probe: false, reservedAt: 0 };
    for (let i = 0; i < 3; i++) await governor.report(slot, "failed");
    expect(stateOf(rows).circuit.openUntil).toBeGreaterThan(0);
    expect(heard.filter((h) => h.includes("circuit"))).toEqual(["c1 circuit closed", "c1 circuit closed", "c1 circuit open"]);
    heard.length = 0;
    await expect(governor.admit(signal, 5_000)).rejects.toMatchObject({ name: "HeldBack", why: "circuit open", retryInMs: 1_000 });
    expect(heard).toEqual(["c1 circuit open"]);
  });

  it("an aborted call takes no slot", async () => {
    const { store, writes } = memoryStore();
    const governor = new CredentialGovernor(store, "c1", limit, circuit);
    const controller = new AbortController();
    controller.abort(new Error("deadline"));
    await expect(governor.admit(controller.signal, 5_000)).rejects.toThrow("deadline");
    expect(writes()).toBe(0);
    // Aborted while waiting for its slot: the wait ends at once.
    await governor.admit(new AbortController().signal, 5_000);
    const waiting = new AbortController();
    const second = governor.admit(waiting.signal, 5_000);
    await jest.advanceTimersByTimeAsync(10);
    waiting.abort(new Error("cut off"));
    await expect(second).rejects.toThrow("cut off");
  });

  it("a success while all is well writes nothing; other answers are recorded and reported", async () => {
    const { store, rows, writes } = memoryStore();
    const { heard, events } = recorder();
    const governor = new CredentialGovernor(store, "c1", limit, circuit, events);
    const slot = await governor.admit(new AbortController().signal, 5_000);
    const before = writes();
    heard.length = 0;
    await governor.report(slot, "success");
    expect(writes()).toBe(before);
    expect(heard).toEqual([]);
    await governor.report(slot, "throttled", 3);
    expect(stateOf(rows)).toMatchObject({ rate: 5 });
    expect(heard).toEqual(["c1 circuit closed", "c1 rate 5"]);
    heard.length = 0;
    await governor.report(slot, "failed");
    expect(heard).toEqual(["c1 circuit closed"]);
    // Not calm now (a failure counted): a success is written, and resets the count.
    await governor.report(slot, "success");
    expect(stateOf(rows).circuit.failures).toBe(0);
    const after = writes();
    await governor.report(slot, "success");
    expect(writes()).toBe(after);
  });

  it("a probe's answer is always written; one that closes the circuit says the vendor is back", async () => {
    const { store, rows } = memoryStore();
    const { heard, events } = recorder();
    const governor = new CredentialGovernor(store, "c1", limit, circuit, events);
    const slot = { probe: false, reservedAt: 0 };
    for (let i = 0; i < 3; i++) await governor.report(slot, "failed");
    await jest.advanceTimersByTimeAsync(1_000);
    const probe = await governor.admit(new AbortController().signal, 5_000);
    expect(probe.probe).toBe(true);
    heard.length = 0;
    await governor.report(probe, "success");
    expect(stateOf(rows).circuit).toEqual(closedCircuit());
    expect(heard).toEqual(["c1 circuit closed", "c1 recovered"]);
  });

  it("a governor without metrics listeners keeps the same state", async () => {
    const { store, rows } = memoryStore();
    const governor = new CredentialGovernor(store, "c1", limit, circuit);
    for (let i = 0; i < 3; i++) await governor.report({ probe: false, reservedAt: 0 }, "failed");
    await jest.advanceTimersByTimeAsync(1_000);
    const probe = await governor.admit(new AbortController().signal, 5_000);
    // The probe is throttled: the vendor answers (the circuit closes), and the rate is cut.
    await governor.report(probe, "throttled");
    expect(stateOf(rows)).toMatchObject({ rate: 5, circuit: closedCircuit() });
  });

  it("the circuit as the status page shows it, read without changing it", async () => {
    const { store, rows } = memoryStore();
    const governor = new CredentialGovernor(store, "c1", limit, circuit);
    expect(await governor.circuitNow()).toBe("closed");
    expect(stateOf(rows)).toEqual(freshState(limit, performance.now()));
    for (let i = 0; i < 3; i++) await governor.report({ probe: false, reservedAt: 0 }, "failed");
    const written = rows.get("c1");
    expect(await governor.circuitNow()).toBe("open");
    expect(rows.get("c1")).toBe(written);
    await jest.advanceTimersByTimeAsync(999);
    expect(await governor.circuitNow()).toBe("open");
    await jest.advanceTimersByTimeAsync(1);
    expect(await governor.circuitNow()).toBe("probing");
  });

  it("reads what the store holds: a lowered configured rate applies at once, an unreadable row starts afresh", async () => {
    const now = performance.now();
    const rows = new Map([
      ["fast", JSON.stringify({ ...freshState({ perSecond: 50 }, now), nextSlot: now })],
      ["junk", "{not json"],
    ]);
    const { store } = memoryStore(rows);
    const { heard, events } = recorder();
    await new CredentialGovernor(store, "fast", limit, circuit, events).admit(new AbortController().signal, 5_000);
    expect(stateOf(rows, "fast").rate).toBe(10);
    expect(heard).toContain("fast rate 10");
    await new CredentialGovernor(store, "junk", limit, circuit, events).admit(new AbortController().signal, 5_000);
    expect(stateOf(rows, "junk")).toMatchObject({ rate: 10, circuit: closedCircuit() });
  });
});

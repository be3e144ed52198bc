/**
 * The outbox's rules (src/provisioning/outbox.ts) on their own: what a change records, how each way a run
 * can end is read, the backoff, how a run's end becomes the row's next state (done, tried again, a dead
 * letter) and what the IdP is shown of it.
 */
import { backoffMs, DEPROVISION_REFUSALS, endOf, orderOf, outcomeOf, settlementOf, viewOf, type RunEnd } from "../src/provisioning/outbox";
import { HeldBack } from "../src/provisioning/rate-limiter";
import { VendorRefusal } from "../src/provisioning/refusal";
import { DeadlineExceeded, InternalCallError } from "../src/provisioning/retry";
import { StoreUnavailableError, type WorkItem } from "../src/store/types";
import { POLICY as policy, workItem } from "./helpers/work-items";

const NOW = 1_700_000_000_000;
const MINUTE = 60_000;
const row = (extra: Partial<WorkItem> = {}) => workItem(NOW, extra);
const leaver = (extra: Partial<WorkItem> = {}) => row({ deprovision: true, horizonAt: undefined, ...extra });

const throttled = new VendorRefusal("throttled", "Slow down.", "Throttling", "req-t", 45);
const down = new VendorRefusal("unavailable", "The vendor failed.", "InternalError", "req-d");
const invalid = new VendorRefusal("invalid", "The vendor refused the name.", "InvalidName", "req-i");

afterEach(() => jest.restoreAllMocks());

describe("what a change records", () => {
  it("the target's horizon, and no status resend unless asked", () => {
    expect(orderOf(policy, { deprovision: true })).toEqual({ deprovision: true, resendStatus: false, horizonMs: policy.horizonMs });
    expect(orderOf(policy, { deprovision: false, resendStatus: true })).toEqual({ deprovision: false, resendStatus: true, horizonMs: policy.horizonMs });
  });
});

describe("how a run ended", () => {
  it("held back by the circuit or the limiter: nothing went out, tried again when the hold ends", () => {
    const held = new HeldBack(4_000, "circuit open");
    expect(endOf(held)).toEqual({ kind: "retry", refusal: expect.any(VendorRefusal), attempted: false, waitMs: 4_000 });
    const { refusal } = endOf(held) as Extract<RunEnd, { kind: "retry" }>;
    expect(refusal).toMatchObject({ reason: "unavailable", message: `Waiting: ${held.message}.` });
  });

  it("past the deadline: the call may have landed, and counts as an attempt", () => {
    const end = endOf(new DeadlineExceeded(1)) as Extract<RunEnd, { kind: "retry" }>;
    expect(end).toMatchObject({ kind: "retry", attempted: true });
    expect(end.refusal).toMatchObject({ reason: "timeout", message: "The vendor did not answer in time (the call may have landed)." });
  });

  it("the store failed: nothing went out, and the IdP reads the store's reason (not its internals)", () => {
    const end = endOf(new StoreUnavailableError("the database is not answering", new Error("ECONNREFUSED 10.0.0.5"))) as Extract<RunEnd, { kind: "retry" }>;
    expect(end).toMatchObject({ kind: "retry", attempted: false });
    expect(end.refusal).toMatchObject({ reason: "unavailable", message: "The bridge's store failed during the work (the database is not answering)." });
  });

  it("a vendor refusal: tried again if the vendor could not take it, final if it refused the user", () => {
    expect(endOf(throttled)).toEqual({ kind: "retry", refusal: throttled, attempted: true });
    expect(endOf(new VendorRefusal("credentials", "Bad key."))).toMatchObject({ kind: "retry", attempted: true });
    expect(endOf(invalid)).toEqual({ kind: "refused", refusal: invalid });
  });

  it("a vendor call that failed inside the bridge's own code is said as such, not as the vendor being unavailable", () => {
    const call = { operation: "create", call: "CreateUser", params: {}, identity: [], secretParams: [] };
    const end = endOf(new InternalCallError(call, new TypeError("signer broke"))) as Extract<RunEnd, { kind: "internal" }>;
    expect(end.kind).toBe("internal");
    expect(end.refusal.message).toBe("internal error in create: signer broke");
    // The request's change stands (its dead letter with it).
    expect(outcomeOf(end)).toEqual({ state: "pending", refusal: end.refusal });
  });

  it("anything else is a bug of the bridge: retried (never dropped), marked unexpected, and not described by its own text", () => {
    const end = endOf(new TypeError("cannot read properties of undefined (reading 'Secret')")) as Extract<RunEnd, { kind: "retry" }>;
    expect(end).toMatchObject({ kind: "retry", attempted: true, unexpected: true });
    expect(end.refusal.reason).toBe("unavailable");
    expect(end.refusal.message).toBe("The bridge hit an unexpected error doing the work; it is logged, and the work is tried again.");
  });

  it("what the request that made the change is told", () => {
    expect(outcomeOf({ kind: "applied" })).toEqual({ state: "applied" });
    expect(outcomeOf({ kind: "refused", refusal: invalid })).toEqual({ state: "refused", refusal: invalid });
    expect(outcomeOf({ kind: "retry", refusal: down, attempted: true })).toEqual({ state: "pending", refusal: down });
  });
});

describe("the backoff", () => {
  it("doubles from the first delay with each attempt (the first two alike), jittered by a quarter either way", () => {
    const middle = () => 0.5;
    expect([0, 1, 2, 3, 4].map((n) => backoffMs(n, 1_000, 600_000, undefined, middle))).toEqual([1_000, 1_000, 2_000, 4_000, 8_000]);
    expect(backoffMs(3, 1_000, 600_000, undefined, () => 0)).toBe(3_000);
    expect(backoffMs(3, 1_000, 600_000, undefined, () => 0.999)).toBe(4_998);
  });

  it("never past the cap, the jitter included", () => {
    expect(backoffMs(30, 1_000, 600_000, undefined, () => 0.5)).toBe(600_000);
    expect(backoffMs(30, 1_000, 600_000, undefined, () => 0.999)).toBe(600_000);
    expect(backoffMs(30, 1_000, 600_000, undefined, () => 0)).toBe(450_000);
  });

  it("at least the vendor's Retry-After, but not past the cap", () => {
    expect(backoffMs(1, 1_000, 600_000, 30, () => 0.5)).toBe(30_000);
    expect(backoffMs(1, 1_000, 20_000, 30, () => 0.5)).toBe(20_000);
    expect(backoffMs(5, 1_000, 600_000, 2, () => 0.5)).toBe(16_000);
  });

  it("whole milliseconds", () => {
    expect(backoffMs(1, 999, 600_000, undefined, () => 0.123)).toBe(Math.round(999 * (0.75 + 0.123 * 0.5)));
  });
});

describe("the row's next state", () => {
  const retry = (refusal: VendorRefusal, extra: Partial<Extract<RunEnd, { kind: "retry" }>> = {}): RunEnd => ({
    kind: "retry",
    refusal,
    attempted: true,
    ...extra,
  });
  const pending = (settled: ReturnType<typeof settlementOf>) => {
    expect(settled.state).toBe("pending");
    return settled as Extract<typeof settled, { state: "pending" }>;
  };

  it("applied: done", () => {
    expect(settlementOf(row({ attempts: 4 }), { kind: "applied" }, policy, NOW)).toEqual({ state: "done" });
  });

  it("refused: a dead letter at once, with the vendor's code, words and RequestId", () => {
    expect(settlementOf(row(), { kind: "refused", refusal: invalid }, policy, NOW)).toEqual({
      state: "failed",
      code: "InvalidName",
      detail: "The vendor refused the name.",
      vendorRequestId: "req-i",
    });
  });

  it(`a refused deprovisioning is tried again (at the deprovisioning pace) ${DEPROVISION_REFUSALS} times in all, then pages as a dead letter`, () => {
    jest.spyOn(Math, "random").mockReturnValue(0.5);
    expect(DEPROVISION_REFUSALS).toBe(3);
    const refused: RunEnd = { kind: "refused", refusal: invalid };
    expect(settlementOf(leaver({ attempts: 0 }), refused, policy, NOW)).toEqual({
      state: "pending",
      retryInMs: 1_000,
      attempted: true,
      code: "InvalidName",
      detail: "The vendor refused the name.",
      vendorRequestId: "req-i",
    });
    expect(pending(settlementOf(leaver({ attempts: 1 }), refused, policy, NOW)).retryInMs).toBe(2_000);
    expect(settlementOf(leaver({ attempts: 2 }), refused, policy, NOW)).toMatchObject({ state: "failed", code: "InvalidName" });
    expect(settlementOf(leaver({ attempts: 7 }), refused, policy, NOW)).toMatchObject({ state: "failed" });
  });

  it("a bug inside a vendor call: other work is a dead letter at once; a deprovisioning is tried again at its pace, for ever", () => {
    jest.spyOn(Math, "random").mockReturnValue(0.5);
    const bug: RunEnd = { kind: "internal", refusal: new VendorRefusal("unavailable", "internal error in create: signer broke") };
    expect(settlementOf(row(), bug, policy, NOW)).toEqual({ state: "failed", detail: "internal error in create: signer broke" });
    expect(settlementOf(leaver({ attempts: 0 }), bug, policy, NOW)).toEqual({
      state: "pending",
      retryInMs: 1_000,
      attempted: true,
      detail: "internal error in create: signer broke",
    });
    expect(pending(settlementOf(leaver({ attempts: 40 }), bug, policy, NOW)).retryInMs).toBe(policy.deprovisionMaxDelayMs);
  });

  it("tried again with the backoff of its attempts; a run that sent nothing is not counted as one", () => {
    jest.spyOn(Math, "random").mockReturnValue(0.5);
    expect(pending(settlementOf(row({ attempts: 2 }), retry(down), policy, NOW))).toMatchObject({ retryInMs: 4_000, attempted: true, code: "InternalError" });
    expect(pending(settlementOf(row({ attempts: 2 }), retry(down, { attempted: false }), policy, NOW))).toMatchObject({ retryInMs: 2_000, attempted: false });
  });

  it("throttled: not before the vendor's Retry-After", () => {
    jest.spyOn(Math, "random").mockReturnValue(0);
    expect(pending(settlementOf(row(), retry(throttled), policy, NOW)).retryInMs).toBe(45_000);
  });

  it("a deprovisioning backs off no further than deprovisionMaxDelayMs; other work up to maxDelayMs", () => {
    jest.spyOn(Math, "random").mockReturnValue(0.5);
    expect(pending(settlementOf(leaver({ attempts: 20 }), retry(down), policy, NOW)).retryInMs).toBe(policy.deprovisionMaxDelayMs);
    expect(pending(settlementOf(row({ attempts: 20 }), retry(down), policy, NOW)).retryInMs).toBe(policy.maxDelayMs);
  });

  it("a hold keeps the wait it was told (with up to a quarter second's spread), up to the cap", () => {
    jest.spyOn(Math, "random").mockReturnValue(0.5);
    const held = (ms: number) => retry(down, { attempted: false, waitMs: ms });
    expect(pending(settlementOf(row({ attempts: 9 }), held(4_000), policy, NOW)).retryInMs).toBe(4_125);
    expect(pending(settlementOf(leaver(), held(300_000), policy, NOW)).retryInMs).toBe(policy.deprovisionMaxDelayMs);
    expect(pending(settlementOf(row(), held(300_000), policy, NOW)).retryInMs).toBe(300_125);
    jest.spyOn(Math, "random").mockReturnValue(0.999);
    expect(pending(settlementOf(row(), held(1_000), policy, NOW)).retryInMs).toBe(1_250);
  });

  it("work that would be tried past its horizon is given up, saying after how many attempts over how long", () => {
    jest.spyOn(Math, "random").mockReturnValue(0.5);
    const item = row({ attempts: 4, firstAt: NOW - 90 * MINUTE, horizonAt: NOW + 10_000 });
    expect(settlementOf(item, retry(down), policy, NOW)).toEqual({
      state: "failed",
      code: "InternalError",
      vendorRequestId: "req-d",
      detail: "Given up after 5 attempts over 90 min (the target's retry horizon): The vendor failed.",
    });
    // Exactly at the horizon is still inside it.
    expect(settlementOf({ ...item, horizonAt: NOW + 16_000 }, retry(down), policy, NOW)).toMatchObject({ state: "pending", retryInMs: 16_000 });
    expect(settlementOf({ ...item, horizonAt: NOW + 15_999 }, retry(down), policy, NOW)).toMatchObject({ state: "failed" });
  });

  it("a deprovisioning, or a row without a horizon, is never given up for time", () => {
    jest.spyOn(Math, "random").mockReturnValue(0.5);
    const old = { attempts: 500, firstAt: NOW - 30 * 24 * 60 * MINUTE };
    expect(settlementOf(leaver({ ...old, horizonAt: NOW }), retry(down), policy, NOW)).toMatchObject({ state: "pending" });
    expect(settlementOf(row({ ...old, horizonAt: undefined }), retry(down), policy, NOW)).toMatchObject({ state: "pending" });
  });
});

describe("what the IdP sees of the work (the vendor extension's provisioning)", () => {
  it("done: applied, nothing else", () => {
    expect(viewOf(row({ state: "done", attempts: 3, lastDetail: "x", lastCode: "y" }))).toEqual({ state: "applied" });
  });

  it("pending: why, how many attempts, when the next one is, and the vendor's code and RequestId when it answered", () => {
    expect(
      viewOf(row({ attempts: 2, nextAt: Date.UTC(2026, 0, 2, 3, 4, 5), lastDetail: "The vendor failed.", lastCode: "E1", lastVendorRequestId: "r-1" })),
    ).toEqual({
      state: "pending",
      reason: "The vendor failed.",
      attempts: 2,
      nextAttempt: "2026-01-02T03:04:05.000Z",
      vendorCode: "E1",
      vendorRequestId: "r-1",
    });
    expect(viewOf(row({ nextAt: Date.UTC(2026, 0, 2) }))).toStrictEqual({
      state: "pending",
      reason: "Queued for the vendor.",
      attempts: 0,
      nextAttempt: "2026-01-02T00:00:00.000Z",
    });
  });

  it("failed: the vendor's reason and what a person does about it", () => {
    expect(viewOf(row({ state: "failed", attempts: 1, lastDetail: "Bad name.", lastCode: "InvalidName" }))).toStrictEqual({
      state: "failed",
      reason: "Bad name.",
      attempts: 1,
      vendorCode: "InvalidName",
      remedy: "Correct the cause (the user's attributes, the mapping or the target), then change the user again or run `scim-bridge outbox retry` with its id.",
    });
    expect(viewOf(row({ state: "failed" })).reason).toBe("The vendor refused the change.");
    expect(viewOf(leaver({ state: "failed", lastVendorRequestId: "r-9" }))).toMatchObject({
      vendorRequestId: "r-9",
      remedy: expect.stringMatching(/^The leaver may still have access at the vendor: disable or remove the vendor user there now/),
    });
  });
});

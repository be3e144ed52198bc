/**
 * One vendor call as the engine makes it (src/provisioning/retry.ts), against a scripted connector and a
 * recording governor, on jest's fake clock: what is retried and how often, how long it backs off, how the
 * limiter and circuit are told, what a create's intent records, how the deadline cuts it off, and what the
 * log says.
 */
import type { BuiltCall } from "../src/mapping/compile";
import type { Logger } from "../src/log";
import { HeldBack, type CallResult, type CredentialGovernor, type Slot } from "../src/provisioning/rate-limiter";
import { callVendor, DeadlineExceeded, InternalCallError } from "../src/provisioning/retry";
import { TransportFailure } from "../src/vendors/http";
import { CredentialExchangeError, type VendorConnector, type VendorOutcome } from "../src/vendors/types";

const CALL: BuiltCall = {
  operation: "disable",
  call: "DisableUser",
  params: { UserId: "v-1", Password: "Init!s3cret" },
  identity: ["UserId"],
  secretParams: ["Password"],
};

const ok: VendorOutcome = { kind: "success", result: {}, status: 200, requestId: "req-ok" };
const throttled: VendorOutcome = { kind: "throttled", code: "Throttling", message: "slow down", status: 429, requestId: "req-t", retryAfter: 7 };
const down: VendorOutcome = { kind: "transient", code: "InternalError", message: "oops", status: 503, requestId: "req-d", retryAfter: 3 };
const refused: VendorOutcome = { kind: "invalid", code: "InvalidName", message: "bad name", status: 400, requestId: "req-r" };

/** What a step of the script does: answer, throw, or take time and then answer. */
type Step = VendorOutcome | Error | { takesMs: number; then: VendorOutcome | "abort" } | "abort";

interface Options {
  repeatUnknown?: boolean;
  deadlineAt?: number;
  deprovision?: boolean;
  intent?: boolean;
  admit?: (maxWaitMs: number) => Slot;
}

/** Runs callVendor over `script`; `trail` records, in order, what the engine did. */
function harness(script: Step[], options: Options = {}) {
  const trail: string[] = [];
  const reports: { result: CallResult; retryAfter?: number; slot: Slot }[] = [];
  const lines: { level: string; message: string; line: Record<string, unknown> }[] = [];
  const called: [string, number][] = [];
  const bugs: string[] = [];
  /** When (fake clock) each call went out. */
  const invokedAt: number[] = [];
  const controller = new AbortController();
  const connector = {
    vendor: "acme",
    invoke: async (call: BuiltCall, signal?: AbortSignal) => {
      expect(call).toBe(CALL);
      expect(signal).toBe(controller.signal);
      trail.push("invoke");
      invokedAt.push(performance.now());
      let step = script.shift();
      if (step === undefined) {
        // Ends the run at once (as the deadline would), so a test fails rather than waits.
        controller.abort();
        throw new Error("called more often than scripted");
      }
      if (typeof step === "object" && "takesMs" in step) {
        jest.advanceTimersByTime(step.takesMs);
        step = step.then;
      }
      if (step === "abort") {
        controller.abort();
        throw new Error("aborted");
      }
      if (step instanceof Error) throw step;
      return step;
    },
  } as unknown as VendorConnector;
  let slots = 0;
  const governor = {
    admit: async (signal: AbortSignal, maxWaitMs: number, deprovision: boolean) => {
      expect(signal).toBe(controller.signal);
      trail.push(`admit ${maxWaitMs}${deprovision ? " deprovision" : ""}`);
      return options.admit ? options.admit(maxWaitMs) : { probe: false, reservedAt: ++slots };
    },
    report: async (slot: Slot, result: CallResult, retryAfter?: number) => {
      trail.push(`report ${result}`);
      reports.push({ result, retryAfter, slot });
    },
  } as unknown as CredentialGovernor;
  const log = {
    info: (message: string, line: Record<string, unknown>) => lines.push({ level: "info", message, line }),
    warn: (message: string, line: Record<string, unknown>) => lines.push({ level: "warn", message, line }),
    error: (message: string, line: Record<string, unknown>) => lines.push({ level: "error", message, line }),
  } as unknown as Logger;
  const intent = options.intent
    ? {
        sent: async () => void trail.push("intent sent"),
        answered: async () => void trail.push("intent answered"),
      }
    : undefined;
  const run = () =>
    callVendor({
      connector,
      governor,
      call: CALL,
      signal: controller.signal,
      log,
      context: { target: "t1", scimId: "u1" },
      events: { called: (outcome, seconds) => called.push([outcome, seconds]), internalError: (operation) => bugs.push(operation) },
      repeatUnknown: options.repeatUnknown,
      deadlineAt: options.deadlineAt,
      intent,
      deprovision: options.deprovision,
    });
  /** callVendor with only the options it requires. */
  const runPlain = () => callVendor({ connector, governor, call: CALL, signal: controller.signal, log, context: {} });
  return { run, runPlain, trail, reports, lines, called, bugs, invokedAt, controller, left: () => script.length };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

/** The call ended as DeadlineExceeded, counting `attempts` calls that went out. */
async function expectDeadline(result: Promise<unknown>, attempts: number): Promise<void> {
  const error = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeadlineExceeded);
  expect(error).toMatchObject({ name: "DeadlineExceeded", attempts, message: "the vendor did not answer before the deadline" });
}

/** Runs until the call settles, moving the fake clock along through any backoff. */
async function settle<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  const settled = promise.finally(() => (done = true));
  for (let i = 0; i < 100 && !done; i++) await jest.advanceTimersByTimeAsync(50);
  if (!done) throw new Error("the call did not settle within 5 s of backoff");
  return settled;
}

describe("what is tried again", () => {
  it("a success goes out once, and the limiter hears of it without a Retry-After", async () => {
    const h = harness([ok]);
    await expect(h.run()).resolves.toEqual({ outcome: ok, attempts: 1 });
    expect(h.reports).toEqual([{ result: "success", retryAfter: undefined, slot: { probe: false, reservedAt: 1 } }]);
  });

  it("a refusal is final at once, and counts for the circuit as the vendor being up", async () => {
    for (const kind of ["invalid", "conflict", "notFound", "auth"] as const) {
      const h = harness([{ ...refused, kind }]);
      await expect(h.run()).resolves.toEqual({ outcome: { ...refused, kind }, attempts: 1 });
      expect(h.reports.map((r) => r.result)).toEqual(["refused"]);
    }
  });

  it.each([
    ["throttling", throttled, "throttled", 7],
    ["a failure with an unknown outcome", down, "failed", 3],
  ] as const)("%s is tried again, three calls at most, each report (%s) with the vendor's Retry-After", async (_, outcome, result, retryAfter) => {
    const h = harness([outcome, outcome, outcome]);
    await expect(settle(h.run())).resolves.toEqual({ outcome, attempts: 3 });
    expect(h.reports.map((r) => [r.result, r.retryAfter])).toEqual([
      [result, retryAfter],
      [result, retryAfter],
      [result, retryAfter],
    ]);
    const again = harness([outcome, ok]);
    await expect(settle(again.run())).resolves.toEqual({ outcome: ok, attempts: 2 });
  });

  it("throttling waits for the limiter's next slot, not for a backoff of its own", async () => {
    const h = harness([throttled, ok]);
    const result = h.run();
    await jest.advanceTimersByTimeAsync(0);
    expect(h.invokedAt).toHaveLength(2);
    expect(h.invokedAt[1]).toBe(h.invokedAt[0]);
    await expect(result).resolves.toEqual({ outcome: ok, attempts: 2 });
  });

  it("by default a failure with an unknown outcome is tried again, as other work (not a deprovisioning)", async () => {
    const h = harness([down, ok]);
    await expect(settle(h.runPlain())).resolves.toEqual({ outcome: ok, attempts: 2 });
    expect(h.trail.filter((step) => step.startsWith("admit"))).toEqual(["admit 3000", "admit 3000"]);
    await expectDeadline(harness([throttled, "abort"]).runPlain(), 2);
  });

  it("…but never for a create, which may have landed: the outbox looks the user up first", async () => {
    const h = harness([down, ok], { repeatUnknown: false });
    await expect(settle(h.run())).resolves.toEqual({ outcome: down, attempts: 1 });
    expect(h.left()).toBe(1);
    // Throttling means the vendor did nothing: a create is tried again.
    const throttledCreate = harness([throttled, ok], { repeatUnknown: false });
    await expect(settle(throttledCreate.run())).resolves.toEqual({ outcome: ok, attempts: 2 });
  });
});

describe("the backoff after a failure", () => {
  /** The gaps between the calls, with Math.random() at `random`, `failures` failures then a success. */
  async function gapsAfterFailures(failures: number, random: number): Promise<number[]> {
    jest.spyOn(Math, "random").mockReturnValue(random);
    const h = harness([...Array.from({ length: failures }, () => down), ok]);
    await settle(h.run());
    return h.invokedAt.slice(1).map((at, i) => at - h.invokedAt[i]!);
  }

  it("grows with each attempt, with jitter between half and one and a half times its base", async () => {
    expect(await gapsAfterFailures(1, 0)).toEqual([125]);
    expect(await gapsAfterFailures(1, 0.5)).toEqual([250]);
    const [longest] = await gapsAfterFailures(1, 0.999);
    expect(longest).toBeGreaterThanOrEqual(370);
    expect(longest).toBeLessThanOrEqual(375);
  });

  it("doubles for the next attempt", async () => {
    expect(await gapsAfterFailures(2, 0)).toEqual([125, 250]);
    expect(await gapsAfterFailures(2, 0.5)).toEqual([250, 500]);
  });

  it("is cut short by the deadline: the call ends as DeadlineExceeded counting the calls that went out", async () => {
    const h = harness([down, ok]);
    const result = h.run();
    await jest.advanceTimersByTimeAsync(10);
    h.controller.abort();
    await expectDeadline(result, 1);
    expect(h.left()).toBe(1);
  });
});

describe("an exception instead of an answer", () => {
  it("the vendor unreachable is a transient failure, named by its code (or its name)", async () => {
    const reset = new TransportFailure("ECONNRESET", "socket hang up");
    const timeout = new TransportFailure("HeadersTimeoutError", "headers took too long");
    const h = harness([reset, timeout], { repeatUnknown: false });
    await expect(h.run()).resolves.toEqual({
      outcome: { kind: "transient", code: "ECONNRESET", message: "could not reach the vendor: socket hang up", status: 0 },
      attempts: 1,
    });
    await expect(h.run()).resolves.toMatchObject({ outcome: { kind: "transient", code: "HeadersTimeoutError" } });
  });

  it("a token exchange that fails is an authentication failure, not an outage", async () => {
    const h = harness([new CredentialExchangeError("the token endpoint said 401")]);
    await expect(h.run()).resolves.toEqual({
      outcome: { kind: "auth", code: "TokenExchange", message: "the token endpoint said 401", status: 401 },
      attempts: 1,
    });
    expect(h.reports.map((r) => r.result)).toEqual(["refused"]);
  });

  it("an error of the bridge's own code (a signer's TypeError) is a bug: thrown at once, not tried again, not held against the vendor", async () => {
    const signer = new TypeError("Cannot read properties of undefined (reading 'secretKey') near Init!s3cret");
    const h = harness([signer, ok], { intent: true });
    const error = await h.run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InternalCallError);
    expect(error).toMatchObject({
      operation: "disable",
      message: "internal error in disable: Cannot read properties of undefined (reading 'secretKey') near [redacted]",
    });
    expect(h.left()).toBe(1);
    // The circuit and the vendor-call counts hear nothing; the intent stays (the call may have gone out).
    expect(h.trail).toEqual(["intent sent", "admit 3000", "invoke"]);
    expect(h.called).toEqual([]);
    expect(h.bugs).toEqual(["disable"]);
    expect(h.lines).toHaveLength(1);
    const [line] = h.lines;
    expect(line).toMatchObject({
      level: "error",
      line: { target: "t1", scimId: "u1", operation: "disable", call: "DisableUser", error: (error as Error).message },
    });
    expect(line!.line.stack).toMatch(/^TypeError: Cannot read properties.*\[redacted\]\n\s+at /);
    expect(JSON.stringify(h.lines)).not.toContain("Init!s3cret");
  });

  it("a request the bridge built wrong is a bug too, whatever threw it; only a TransportFailure is the network", async () => {
    for (const thrown of [new Error("plain"), Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })]) {
      const h = harness([thrown]);
      await expect(h.run()).rejects.toBeInstanceOf(InternalCallError);
      expect(h.reports).toEqual([]);
    }
  });

  it("a call cut off by the deadline: DeadlineExceeded with the calls made, a failure for the circuit", async () => {
    const h = harness([throttled, "abort"]);
    await expectDeadline(h.run(), 2);
    await expectDeadline(harness(["abort"]).run(), 1);
    expect(h.reports.map((r) => r.result)).toEqual(["throttled", "failed"]);
    expect(h.called.map(([outcome]) => outcome)).toEqual(["throttled", "deadline"]);
  });
});

describe("the wait for a rate-limit slot", () => {
  /** The slot wait asked of the governor, for a deadline `inMs` away (none: undefined). */
  async function slotWait(inMs: number | undefined, deprovision: boolean): Promise<string> {
    jest.advanceTimersByTime(90_000); // the deadline is measured from now, not from the clock's start
    const h = harness([ok], { deadlineAt: inMs === undefined ? undefined : performance.now() + inMs, deprovision });
    await h.run();
    return h.trail[0]!;
  }

  it("other work waits 3 s at most, less when its deadline is nearer (a quarter second kept for the call)", async () => {
    expect(await slotWait(undefined, false)).toBe("admit 3000");
    expect(await slotWait(60_000, false)).toBe("admit 3000");
    expect(await slotWait(2_000, false)).toBe("admit 1750");
    expect(await slotWait(100, false)).toBe("admit 0");
  });

  it("a deprovisioning waits as long as its deadline allows, and may probe an open circuit", async () => {
    expect(await slotWait(undefined, true)).toBe("admit 3000 deprovision");
    expect(await slotWait(60_000, true)).toBe("admit 59750 deprovision");
    expect(await slotWait(100, true)).toBe("admit 0 deprovision");
  });

  it("held back by the circuit or the limiter: the hold goes to the caller, nothing was sent", async () => {
    const held = new HeldBack(5_000, "circuit open");
    const h = harness([ok], {
      intent: true,
      admit: () => {
        throw held;
      },
    });
    await expect(h.run()).rejects.toBe(held);
    expect(h.trail).toEqual(["intent sent", "admit 3000", "intent answered"]);
    expect(h.left()).toBe(1);
  });

  it("cut off while waiting: DeadlineExceeded counting the calls made before", async () => {
    let admits = 0;
    const h = harness([throttled, ok], {
      admit: () => {
        if (++admits === 2) {
          h.controller.abort();
          throw new DOMException("aborted", "AbortError");
        }
        return { probe: false, reservedAt: admits };
      },
    });
    await expectDeadline(h.run(), 1);
  });

  it("a store that fails while reserving is not mistaken for the deadline", async () => {
    const broken = new Error("store unavailable");
    const h = harness([ok], {
      admit: () => {
        throw broken;
      },
    });
    await expect(h.run()).rejects.toBe(broken);
  });
});

describe("a create's intent", () => {
  it("is recorded before each slot is taken, and left in place by a success", async () => {
    const h = harness([ok], { intent: true });
    await h.run();
    expect(h.trail).toEqual(["intent sent", "admit 3000", "invoke", "report success"]);
  });

  it("is cleared by an answer that says nothing was created (a refusal, throttling), before the limiter hears of it", async () => {
    const h = harness([throttled, refused], { intent: true });
    await h.run();
    expect(h.trail).toEqual([
      "intent sent",
      "admit 3000",
      "invoke",
      "intent answered",
      "report throttled",
      "intent sent",
      "admit 3000",
      "invoke",
      "intent answered",
      "report refused",
    ]);
  });

  it("is left by a failure whose outcome is unknown", async () => {
    const h = harness([down], { intent: true, repeatUnknown: false });
    await h.run();
    expect(h.trail).toEqual(["intent sent", "admit 3000", "invoke", "report failed"]);
  });
});

describe("what the log and the metrics hear", () => {
  it("a success or a refusal is routine (info); throttling, failures and authentication are an operator's (warn)", async () => {
    const h = harness([
      { takesMs: 1_234, then: throttled },
      { takesMs: 40, then: ok },
    ]);
    await h.run();
    expect(h.lines).toEqual([
      {
        level: "warn",
        message: "vendor call failed",
        line: {
          target: "t1",
          scimId: "u1",
          vendor: "acme",
          call: "DisableUser",
          outcome: "throttled",
          code: "Throttling",
          requestIdAtVendor: "req-t",
          attempt: 1,
          ms: 1234,
        },
      },
      {
        level: "info",
        message: "vendor call",
        line: { target: "t1", scimId: "u1", vendor: "acme", call: "DisableUser", outcome: "success", requestIdAtVendor: "req-ok", attempt: 2, ms: 40 },
      },
    ]);
    expect(h.lines[1]!.line).not.toHaveProperty("code");
    expect(h.called).toEqual([
      ["throttled", 1.234],
      ["success", 0.04],
    ]);
    for (const [outcome, level] of [
      [refused, "info"],
      [down, "warn"],
      [{ ...refused, kind: "auth" }, "warn"],
    ] as const) {
      const one = harness([outcome], { repeatUnknown: false });
      await one.run();
      expect(one.lines.map((l) => [l.level, l.line.outcome, l.line.code])).toEqual([[level, outcome.kind, (outcome as { code: string }).code]]);
    }
  });

  it("a call cut off by the deadline is timed as such", async () => {
    const h = harness([
      { takesMs: 500, then: throttled },
      { takesMs: 800, then: "abort" },
    ]);
    await expect(h.run()).rejects.toBeInstanceOf(DeadlineExceeded);
    expect(h.called).toEqual([
      ["throttled", 0.5],
      ["deadline", 0.8],
    ]);
  });
});

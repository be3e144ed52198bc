/**
 * One vendor call as the engine makes it: through the credential's limiter and circuit, retried a few times
 * on throttling and transient failures with backoff while the run's deadline allows, transport failures
 * turned into outcomes. Longer waits (a vendor down for minutes) are the outbox's: it reschedules the work.
 * An error of the bridge's own code inside the call (a signer, a connector) is none of these: it is an
 * InternalCallError, logged with its stack, and neither retried here nor held against the vendor.
 */
import type { BuiltCall } from "../mapping/compile";
import { MASK, redact, type Logger } from "../log";
import { TransportFailure } from "../vendors/http";
import { CredentialExchangeError } from "../vendors/types";
import type { VendorConnector, VendorOutcome } from "../vendors/types";
import { HeldBack, type CallResult, type CredentialGovernor } from "./rate-limiter";

export class DeadlineExceeded extends Error {
  /** `attempts`: the calls that went out before the deadline passed (the last one's outcome is unknown). */
  constructor(readonly attempts = 0) {
    super("the vendor did not answer before the deadline");
    this.name = "DeadlineExceeded";
  }
}

/**
 * Vendors echo parameter values in their error messages ("The parameter Password[…] is invalid"), and a
 * bug's message may hold one too; such text reaches SCIM error details and logs, so every secret the call
 * carried is cut out of it first.
 */
export function scrubSecrets(message: string, call: BuiltCall): string {
  const secrets = call.secretParams.map((p) => call.params[p]).filter((v): v is string => typeof v === "string" && v.length > 0);
  return secrets.reduce((text, secret) => text.split(secret).join(MASK), message);
}

/** Text about a call as it may be logged and stored: the call's secrets and bearer-like strings cut out. */
const shown = (text: string, call: BuiltCall) => redact(scrubSecrets(text, call)) as string;

/**
 * The bridge's own code failed inside a vendor call (a signer that throws, a mapping bug): not a vendor
 * answer, nor the network, nor the deadline. Trying again runs into the same bug; the outbox makes it a
 * dead letter (a deprovisioning is still retried). Message and stack name the operation, secrets cut out.
 */
export class InternalCallError extends Error {
  readonly operation: string;
  /** Where the failing code was: the original error's stack. */
  readonly trace: string;

  constructor(call: BuiltCall, error: unknown) {
    const detail = error instanceof Error ? error.message : String(error);
    super(`internal error in ${call.operation}: ${shown(detail, call)}`);
    this.name = "InternalCallError";
    this.operation = call.operation;
    this.trace = shown((error instanceof Error && error.stack) || detail, call);
  }
}

const MAX_ATTEMPTS = 3;

/** How the limiter and the circuit read an outcome. */
function callResultOf(outcome: VendorOutcome): CallResult {
  if (outcome.kind === "success") return "success";
  if (outcome.kind === "throttled") return "throttled";
  return outcome.kind === "transient" ? "failed" : "refused";
}

function backoffMs(attempt: number): number {
  const base = 250 * 2 ** attempt;
  return base / 2 + Math.random() * base; // jitter, so retries from many requests spread out
}

async function pause(ms: number, signal: AbortSignal, attempts: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), reject(new DeadlineExceeded(attempts))), { once: true });
  });
}

/** A call's answer; an exception that is none of the vendor's, the network's or the deadline's is an InternalCallError. */
async function once(connector: VendorConnector, call: BuiltCall, signal: AbortSignal, attempt: number): Promise<VendorOutcome> {
  try {
    return await connector.invoke(call, signal);
  } catch (error) {
    if (signal.aborted) throw new DeadlineExceeded(attempt + 1);
    if (error instanceof CredentialExchangeError) return { kind: "auth", code: "TokenExchange", message: error.message, status: 401 };
    if (error instanceof TransportFailure) return { kind: "transient", code: error.code, message: `could not reach the vendor: ${error.message}`, status: 0 };
    throw new InternalCallError(call, error);
  }
}

/** What a call reports, for metrics. */
export interface CallEvents {
  /** A call went out and ended so (or was cut off by the deadline) after `seconds`; each retry counts. */
  called?(outcome: VendorOutcome["kind"] | "deadline", seconds: number): void;
  /** The call failed inside the bridge's own code (a bug). */
  internalError?(operation: string): void;
}

/** One vendor call to make, and how. */
export interface CallOptions {
  connector: VendorConnector;
  /** The credential's limiter and circuit. */
  governor: CredentialGovernor;
  call: BuiltCall;
  /** Ends the call: the run's deadline, or shutdown. */
  signal: AbortSignal;
  log: Logger;
  /** What the call's log lines name besides the call itself (target, request id, SCIM id). */
  context: Record<string, unknown>;
  events?: CallEvents;
  /**
   * Whether a failure whose outcome is unknown (5xx, dropped connection) may be sent again at once (the
   * default). Never for a create: it may have landed, and the outbox's next run looks the user up first.
   */
  repeatUnknown?: boolean;
  /** When the caller's time runs out (performance.now()): no rate-limit slot is taken that it cannot wait for. */
  deadlineAt?: number;
  /**
   * A create's intent: recorded before the call takes its slot, and cleared when it never went out or an
   * answer says it created nothing (a refusal, throttling). A success or an unknown outcome leaves it.
   */
  intent?: { sent(): Promise<void>; answered(): Promise<void> };
  /**
   * The call removes a leaver's access: it may probe the credential's open circuit, and it waits for a
   * rate-limit slot as long as its deadline allows (other work at most MAX_SLOT_WAIT_MS).
   */
  deprovision?: boolean;
}

export async function callVendor(options: CallOptions): Promise<{ outcome: VendorOutcome; attempts: number }> {
  const { connector, governor, call, signal, log, context, events = {}, repeatUnknown = true, deadlineAt, intent, deprovision = false } = options;
  for (let attempt = 0; ; attempt++) {
    // Recorded before the slot is taken, so no store write sits between the slot and the call going out.
    await intent?.sent();
    let slot;
    try {
      // A slot the caller gave up on would be lost to everyone: never wait longer than the time left allows
      // (keeping a quarter second, at least, for the call itself).
      const left = deadlineAt === undefined ? MAX_SLOT_WAIT_MS : deadlineAt - performance.now() - 250;
      slot = await governor.admit(signal, Math.max(0, deprovision ? left : Math.min(MAX_SLOT_WAIT_MS, left)), deprovision);
    } catch (error) {
      // Held back (or cut off) before it went out: this attempt created nothing.
      await intent?.answered();
      if (error instanceof HeldBack || !signal.aborted) throw error;
      throw new DeadlineExceeded(attempt);
    }
    const started = performance.now();
    let outcome: VendorOutcome;
    try {
      outcome = await once(connector, call, signal, attempt);
    } catch (error) {
      if (error instanceof InternalCallError) throw internal(error, options);
      // Cut off by the deadline: the vendor may still answer; for the circuit it is a failure.
      await governor.report(slot, "failed").catch(() => undefined);
      events.called?.("deadline", (performance.now() - started) / 1000);
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    events.called?.(outcome.kind, seconds);
    if (outcome.kind !== "success" && outcome.kind !== "transient") await intent?.answered();
    await governor.report(slot, callResultOf(outcome), outcome.kind === "success" ? undefined : outcome.retryAfter);
    const retryable = outcome.kind === "throttled" || (outcome.kind === "transient" && repeatUnknown);
    const line = {
      ...context,
      vendor: connector.vendor,
      call: call.call,
      outcome: outcome.kind,
      ...(outcome.kind === "success" ? {} : { code: outcome.code }),
      requestIdAtVendor: outcome.requestId,
      attempt: attempt + 1,
      ms: Math.round(seconds * 1000),
    };
    // A vendor that fails or throttles is an operator's concern; a success or a refusal of a value is routine.
    if (outcome.kind === "throttled" || outcome.kind === "transient" || outcome.kind === "auth") log.warn("vendor call failed", line);
    else log.info("vendor call", line);
    if (!retryable || attempt + 1 >= MAX_ATTEMPTS) return { outcome, attempts: attempt + 1 };
    // After throttling the limiter itself holds the next slot back (past Retry-After); a failure backs off here.
    if (outcome.kind === "transient") await pause(backoffMs(attempt), signal, attempt + 1);
  }
}

/**
 * A bug of the bridge's inside a call, said once: at error with its stack, and counted. The vendor did
 * nothing: the circuit is not told (a probe's slot left unreported lets another call probe once its time is
 * up), no vendor call is counted, and a create's intent stays (the call may have gone out before the bug).
 */
function internal(error: InternalCallError, { call, connector, log, context, events }: CallOptions): InternalCallError {
  events?.internalError?.(call.operation);
  log.error("vendor call failed inside the bridge: a bug, not the vendor", {
    ...context,
    vendor: connector.vendor,
    call: call.call,
    operation: call.operation,
    error: error.message,
    stack: error.trace,
  });
  return error;
}

/**
 * The longest a call waits for a rate-limit slot inside a run; beyond it the outbox reschedules the work.
 * It is also how far ahead other work books the credential's slots: a deprovisioning, which may book past
 * it, is never more than this behind a backlog (with 10 s, a busy event loop that missed a slot and booked
 * again left a deactivation 20 s behind).
 */
const MAX_SLOT_WAIT_MS = 3_000;

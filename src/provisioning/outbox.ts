/**
 * The outbox's rules: what a change records, how a run's end becomes the row's next state (done, retried
 * later with backoff, or a dead letter), and what a request is told about its own change.
 */
import { StoreUnavailableError, type WorkItem, type WorkOrder, type WorkSettlement } from "../store/types";
import { HeldBack } from "./rate-limiter";
import { VendorRefusal } from "./refusal";
import { DeadlineExceeded, InternalCallError } from "./retry";

/** How a target's work is retried. */
export interface RetryPolicy {
  firstDelayMs: number;
  maxDelayMs: number;
  /** Deprovisioning is retried without end, at least this often — with the vendor's circuit open too. */
  deprovisionMaxDelayMs: number;
  /** Other work that keeps failing this long becomes a dead letter. */
  horizonMs: number;
}

export type ChangeOrder = Omit<WorkOrder, "horizonMs" | "resendStatus"> & { resendStatus?: boolean };

export function orderOf(policy: RetryPolicy, change: ChangeOrder): WorkOrder {
  return { resendStatus: false, ...change, horizonMs: policy.horizonMs };
}

/** How a run ended, before it is written. */
export type RunEnd =
  | { kind: "applied" }
  /** The vendor refused the change itself: trying again will not help. */
  | { kind: "refused"; refusal: VendorRefusal }
  /** The vendor could not take it now (throttled, down, slow, circuit open), or the store failed. */
  | { kind: "retry"; refusal: VendorRefusal; attempted: boolean; waitMs?: number; unexpected?: boolean }
  /** A vendor call failed inside the bridge's own code (a bug): a dead letter, but a deprovisioning is retried. */
  | { kind: "internal"; refusal: VendorRefusal };

/**
 * Any error of a run, as how it ended. A bug inside a vendor call is said as one; any other error unknown is
 * not dropped: it is retried (and logged) like an outage.
 */
export function endOf(error: unknown): RunEnd {
  // 503 to a request that cannot wait for the dead letter's remedy (onVendorDelay: fail).
  if (error instanceof InternalCallError) return { kind: "internal", refusal: new VendorRefusal("unavailable", error.message) };
  if (error instanceof HeldBack)
    return { kind: "retry", refusal: new VendorRefusal("unavailable", `Waiting: ${error.message}.`), attempted: false, waitMs: error.retryInMs };
  if (error instanceof DeadlineExceeded)
    return { kind: "retry", refusal: new VendorRefusal("timeout", "The vendor did not answer in time (the call may have landed)."), attempted: true };
  if (error instanceof StoreUnavailableError)
    return { kind: "retry", refusal: new VendorRefusal("unavailable", `The bridge's store failed during the work (${error.reason}).`), attempted: false };
  if (error instanceof VendorRefusal) return error.retryable ? { kind: "retry", refusal: error, attempted: true } : { kind: "refused", refusal: error };
  return {
    kind: "retry",
    refusal: new VendorRefusal("unavailable", "The bridge hit an unexpected error doing the work; it is logged, and the work is tried again."),
    attempted: true,
    unexpected: true,
  };
}

/** Exponential backoff with jitter (±25 %), at least what the vendor asked (Retry-After), at most `capMs`. */
export function backoffMs(attempts: number, firstDelayMs: number, capMs: number, retryAfterSeconds?: number, random = Math.random): number {
  const exponential = Math.min(capMs, firstDelayMs * 2 ** Math.max(0, attempts - 1));
  const jittered = exponential * (0.75 + random() * 0.5);
  return Math.round(Math.min(capMs, Math.max(jittered, (retryAfterSeconds ?? 0) * 1000)));
}

/**
 * Tries of a deprovisioning the vendor refuses before it is a dead letter: a vendor's passing refusal
 * (a login removal refused once) is ridden out; one that stays is a person's to resolve, and pages.
 */
export const DEPROVISION_REFUSALS = 3;

/** The row's next state after a run of `item` ended as `end`, at `now`. */
export function settlementOf(item: WorkItem, end: RunEnd, policy: RetryPolicy, now: number): WorkSettlement {
  if (end.kind === "applied") return { state: "done" };
  const said = { code: end.refusal.vendorCode, detail: end.refusal.message, vendorRequestId: end.refusal.vendorRequestId };
  const attempts = item.attempts + (end.kind === "retry" && !end.attempted ? 0 : 1);
  if (end.kind === "refused" && (!item.deprovision || attempts >= DEPROVISION_REFUSALS)) return { state: "failed", ...said };
  // Trying again meets the same bug; a deprovisioning is never dropped for one (it is paged as it waits).
  if (end.kind === "internal" && !item.deprovision) return { state: "failed", ...said };
  const cap = item.deprovision ? policy.deprovisionMaxDelayMs : policy.maxDelayMs;
  // A wait the limiter or the circuit asks for is kept, up to the cap: a deprovisioning is looked at again
  // at least every deprovisionMaxDelayMs, whatever the circuit's open period.
  const delay =
    end.kind === "retry" && end.waitMs !== undefined
      ? Math.min(cap, Math.round(end.waitMs + Math.random() * 250))
      : backoffMs(attempts, policy.firstDelayMs, cap, end.refusal.retryAfter);
  if (!item.deprovision && item.horizonAt !== undefined && now + delay > item.horizonAt)
    return {
      state: "failed",
      ...said,
      detail: `Given up after ${attempts} attempts over ${Math.round((now - item.firstAt) / 60_000)} min (the target's retry horizon): ${end.refusal.message}`,
    };
  return { state: "pending", retryInMs: delay, attempted: end.kind !== "retry" || end.attempted, ...said };
}

/** What a request is told about its own change once it has waited. */
export type DeliveryOutcome = { state: "applied" } | { state: "pending"; refusal?: VendorRefusal } | { state: "refused"; refusal: VendorRefusal };

/**
 * A bug is not the vendor refusing the change: the change stands (undoing it would take its dead letter
 * with it), and the resource's view shows the dead letter.
 */
export function outcomeOf(end: RunEnd): DeliveryOutcome {
  if (end.kind === "applied") return { state: "applied" };
  if (end.kind === "refused") return { state: "refused", refusal: end.refusal };
  return { state: "pending", refusal: end.refusal };
}

/** How a user's vendor work shows over SCIM (the vendor extension's `provisioning`). */
export interface ProvisioningView {
  state: "applied" | "pending" | "failed";
  reason?: string;
  attempts?: number;
  nextAttempt?: string;
  vendorCode?: string;
  vendorRequestId?: string;
  /** For a dead letter: what a person does about it. */
  remedy?: string;
}

const CHANGE_REMEDY =
  "Correct the cause (the user's attributes, the mapping or the target), then change the user again or run `scim-bridge outbox retry` with its id.";

const DEPROVISION_REMEDY =
  "The leaver may still have access at the vendor: disable or remove the vendor user there now (the vendor's code and RequestId say why it refused the bridge's call). Then correct the cause and run `scim-bridge outbox retry` with this id, so the bridge confirms it; until then this stays paged.";

export function viewOf(item: WorkItem): ProvisioningView {
  if (item.state === "done") return { state: "applied" };
  const said = { ...(item.lastCode ? { vendorCode: item.lastCode } : {}), ...(item.lastVendorRequestId ? { vendorRequestId: item.lastVendorRequestId } : {}) };
  if (item.state === "failed")
    return {
      state: "failed",
      reason: item.lastDetail ?? "The vendor refused the change.",
      attempts: item.attempts,
      ...said,
      remedy: item.deprovision ? DEPROVISION_REMEDY : CHANGE_REMEDY,
    };
  return {
    state: "pending",
    reason: item.lastDetail ?? "Queued for the vendor.",
    attempts: item.attempts,
    nextAttempt: new Date(item.nextAt).toISOString(),
    ...said,
  };
}

/**
 * What the vendor side answers when a change cannot be applied, in provisioning's own terms. Only the SCIM
 * layer turns a refusal into an HTTP status (src/scim/errors.ts); the outbox reads `retryable` to decide
 * whether to try again or keep the work as a dead letter.
 */
import type { VendorOutcome } from "../vendors/types";

export type RefusalReason =
  /** A value the vendor keeps unique is taken (or the vendor user belongs to someone else). */
  | "conflict"
  /** The vendor (or the mapping's rules) refuse a value of the user. */
  | "invalid"
  /** The change touches something the vendor never lets change (a login name). */
  | "immutable"
  /** The vendor is rate-limiting the credential. */
  | "throttled"
  /** The vendor is down or failing (5xx, unreachable), or its circuit is open. */
  | "unavailable"
  /** The vendor did not answer in time: a call may have landed. */
  | "timeout"
  /** The vendor refused the bridge's credentials or target settings: an administrator must act. */
  | "credentials"
  /** The vendor answered in a shape the mapping does not expect (no id). */
  | "malformed";

const RETRYABLE: ReadonlySet<RefusalReason> = new Set(["throttled", "unavailable", "timeout", "credentials"]);

export class VendorRefusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    /** The vendor's own code and RequestId, when the vendor answered. */
    readonly vendorCode?: string,
    readonly vendorRequestId?: string,
    /** Seconds the vendor asked to wait (Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "VendorRefusal";
  }

  /** Trying again later may succeed: the vendor did not refuse the user, it could not take the call. */
  get retryable(): boolean {
    return RETRYABLE.has(this.reason);
  }
}

/** Outcome classes of a vendor answer, as refusal reasons. */
export function reasonOf(kind: Exclude<VendorOutcome["kind"], "success">): RefusalReason {
  switch (kind) {
    case "conflict":
      return "conflict";
    case "invalid":
    case "notFound":
      return "invalid";
    case "throttled":
      return "throttled";
    case "transient":
      return "unavailable";
    case "auth":
      return "credentials";
  }
}

/** An outbox row and a target's retry policy, for the tests of the outbox's pure rules. */
import type { RetryPolicy } from "../../src/provisioning/outbox";
import type { WorkItem } from "../../src/store/types";

export const POLICY: RetryPolicy = { firstDelayMs: 1_000, maxDelayMs: 600_000, deprovisionMaxDelayMs: 120_000, horizonMs: 86_400_000 };

/** A pending change of user u-1, first tried at `now`, with the policy's horizon; `extra` overrides. */
export function workItem(now: number, extra: Partial<WorkItem> = {}): WorkItem {
  return {
    target: "t",
    scimId: "u-1",
    state: "pending",
    generation: 1,
    deprovision: false,
    resendStatus: false,
    attempts: 0,
    nextAt: now,
    createIntent: false,
    firstAt: now,
    horizonAt: now + POLICY.horizonMs,
    passwordPending: false,
    ...extra,
  };
}

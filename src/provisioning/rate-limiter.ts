/**
 * The rate limit of a vendor credential, shared by every process on the store: calls are given slots spaced
 * evenly (a virtual schedule, GCRA), so no one-second window ever holds more than the configured rate, and
 * no burst goes out at start. The slot schedule lives in the store (one row per credential, read and
 * written atomically with the store's clock), so two replicas together keep to the limit one would.
 *
 * The rate adapts: a throttling answer to a call spaced at the current rate halves it (answers to calls
 * reserved before the last cut say nothing new) and pushes the next slot past the vendor's Retry-After; it then
 * recovers linearly to the configured rate over `RECOVERY_SECONDS`.
 */
import type { CredentialStore } from "../store/credentials/port";
import { admitThrough, circuitAfter, closedCircuit, recovered, type CircuitConfig, type CircuitState } from "./circuit";

export interface RateLimit {
  perSecond: number;
}

/**
 * Slots are spaced this much wider than 1/rate, so a call that reaches the vendor up to 1000 × margin ms late
 * (a busy event loop, a slow store round trip, a loaded machine) never crowds the next one-second window.
 */
const SPACING_MARGIN = 0.08;
/** How late (ms) a call may wake for its slot and still go out in it; later, it takes a new slot. */
export const LATE_TOLERANCE_MS = 10;
/**
 * The same for a call that removes a leaver's access: half the spacing margin (80 ms of a second), so it
 * still reaches the vendor inside it. On a busy event loop a call often wakes 10-40 ms late, and each new
 * slot is the end of the schedule: a deactivation that kept missing its slot waited 20 s behind a backlog.
 */
const DEPROVISION_LATE_TOLERANCE_MS = 40;
/** After a throttling answer, the rate climbs back to the configured one over this long. */
const RECOVERY_SECONDS = 30;
/** A throttling answer multiplies the rate by this. */
const DECREASE = 0.5;
/** The rate never falls below this (calls per second). */
const FLOOR_PER_SECOND = 0.2;

/** One credential's shared state, as the store keeps it (JSON). Times are the store's clock, in ms. */
export interface CredentialState {
  /** When the next free slot is. */
  nextSlot: number;
  /** The adapted rate as of `rateAt`; it recovers from there. */
  rate: number;
  rateAt: number;
  circuit: CircuitState;
}

export function freshState(limit: RateLimit, now: number): CredentialState {
  return { nextSlot: now, rate: limit.perSecond, rateAt: now, circuit: closedCircuit() };
}

/** The rate now: the adapted rate plus what it has recovered since, never above the configured one. */
export function currentRate(state: CredentialState, limit: RateLimit, now: number): number {
  const recovered = (limit.perSecond / RECOVERY_SECONDS) * Math.max(0, (now - state.rateAt) / 1000);
  return Math.min(limit.perSecond, state.rate + recovered);
}

function spacingMs(rate: number): number {
  return (1000 / rate) * (1 + SPACING_MARGIN);
}

/** What a call is told: go at a slot (after `waitMs`), or wait for the circuit. */
export type Admission = { go: true; waitMs: number; probe: boolean; rate: number; reservedAt: number } | { go: false; retryInMs: number; reason: HoldReason };

export type HoldReason = "circuit open" | "probe in flight" | "rate limit";

/**
 * Takes the next slot, unless the circuit holds calls back, or the slot is further away than `maxWaitMs`.
 * `deprovision`: the call removes a leaver's access (the circuit lets such calls probe while open).
 */
export function reserve(
  state: CredentialState,
  limit: RateLimit,
  circuit: CircuitConfig,
  now: number,
  maxWaitMs: number,
  deprovision = false,
): { state: CredentialState; admission: Admission } {
  const gate = admitThrough(state.circuit, circuit, now, deprovision);
  if (!gate.go) return { state: { ...state, circuit: gate.circuit }, admission: { go: false, retryInMs: gate.retryInMs, reason: gate.reason } };
  const rate = currentRate(state, limit, now);
  const slot = Math.max(state.nextSlot, now);
  // No call goes: a probe it would have been is left to the next caller.
  if (slot - now > maxWaitMs) return { state, admission: { go: false, retryInMs: slot - now, reason: "rate limit" } };
  return {
    state: { ...state, nextSlot: slot + spacingMs(rate), circuit: gate.circuit },
    admission: { go: true, waitMs: slot - now, probe: gate.probe, rate, reservedAt: now },
  };
}

/** The vendor's answer, as the limiter and the circuit read it. */
export type CallResult = "success" | "refused" | "throttled" | "failed";

/**
 * A throttling answer halves the rate, if the call was spaced at the current rate (its slot reserved at or
 * after the last cut), and holds slots until Retry-After.
 */
export function afterCall(
  state: CredentialState,
  limit: RateLimit,
  circuit: CircuitConfig,
  now: number,
  result: CallResult,
  retryAfterSeconds?: number,
  probe = false,
  reservedAt = now,
): CredentialState {
  let next: CredentialState = { ...state, circuit: circuitAfter(state.circuit, circuit, now, result, probe) };
  if (result === "throttled") {
    const rate = currentRate(state, limit, now);
    if (reservedAt >= state.rateAt) next = { ...next, rate: Math.max(FLOOR_PER_SECOND, rate * DECREASE), rateAt: now };
    const hold = retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : spacingMs(next.rate);
    next = { ...next, nextSlot: Math.max(next.nextSlot, now + hold) };
  }
  return next;
}

function parse(text: string | undefined, limit: RateLimit, now: number): CredentialState {
  if (!text) return freshState(limit, now);
  try {
    const state = JSON.parse(text) as CredentialState;
    // A configured rate lowered since (a restart with a new setting) applies at once; a circuit written by
    // an earlier release lacks the fields added since.
    return { ...state, rate: Math.min(state.rate, limit.perSecond), circuit: { ...closedCircuit(), ...state.circuit } };
  } catch {
    return freshState(limit, now);
  }
}

/** What a governor reports, for metrics. */
export interface GovernorEvents {
  waited?(credential: string, seconds: number): void;
  rate?(credential: string, perSecond: number): void;
  circuit?(credential: string, open: boolean): void;
  /** The credential's circuit was open and an answer closed it: the vendor is back. */
  recovered?(credential: string): void;
}

/** A call let through: when to send it, and whether it is the circuit's probe. */
export interface Slot {
  probe: boolean;
  /** When the slot was reserved, by the store's clock. */
  reservedAt: number;
}

const HOLD_TEXT: Record<HoldReason, string> = {
  "circuit open": "the vendor failed repeatedly, so its circuit is open: calls wait instead of hammering it",
  "probe in flight": "the vendor's circuit is letting one probe call through; the others wait for it",
  "rate limit": "the credential's rate limit has no slot free soon enough",
};

/**
 * The circuit holds calls of this credential back, or the rate limit has no slot free soon enough; the
 * work waits and tries again after `retryInMs`.
 */
export class HeldBack extends Error {
  constructor(
    readonly retryInMs: number,
    readonly why: HoldReason,
  ) {
    super(HOLD_TEXT[why]);
    this.name = "HeldBack";
  }
}

/**
 * One credential's limiter and circuit, on the store's shared state. Every call takes a slot here first
 * and reports its answer after; both are one atomic read-modify-write of the credential's row.
 */
export class CredentialGovernor {
  /** The last state this process saw: a success while all was well needs no write. */
  private calm = true;

  constructor(
    private readonly credentials: CredentialStore,
    /** An opaque id of the credential (a hash; never the key). */
    readonly credential: string,
    private readonly limit: RateLimit,
    private readonly circuit: CircuitConfig,
    private readonly events: GovernorEvents = {},
  ) {}

  /** The circuit as the store holds it now, for the status page: closed, open (calls wait) or letting a probe through. */
  async circuitNow(): Promise<"closed" | "open" | "probing"> {
    return this.credentials.update(this.credential, (text, now) => {
      const { circuit } = parse(text, this.limit, now);
      const view = circuit.openUntil === 0 ? "closed" : now < circuit.openUntil ? "open" : "probing";
      // Written back as read: a look changes nothing.
      return { state: text ?? JSON.stringify(freshState(this.limit, now)), result: view };
    });
  }

  /**
   * Waits for the call's slot; throws HeldBack when the circuit holds calls or no slot is free within
   * `maxWaitMs`, and `signal`'s reason when it aborts. `deprovision`: the call removes a leaver's access
   * (it may probe an open circuit).
   */
  async admit(signal: AbortSignal, maxWaitMs: number, deprovision = false): Promise<Slot> {
    for (;;) {
      signal.throwIfAborted();
      // The slot is relative to the store's clock as the state was read; the write and commit after that
      // take time too, which the wait makes up for (else every call would go out that much late).
      let readAt = 0;
      const admission = await this.credentials.update(this.credential, (text, now) => {
        readAt = performance.now();
        const { state, admission } = reserve(parse(text, this.limit, now), this.limit, this.circuit, now, maxWaitMs, deprovision);
        return { state: JSON.stringify(state), result: admission };
      });
      const spent = performance.now() - readAt;
      if (!admission.go) {
        if (admission.reason !== "rate limit") this.events.circuit?.(this.credential, true);
        throw new HeldBack(admission.retryInMs, admission.reason);
      }
      this.events.rate?.(this.credential, admission.rate);
      this.events.waited?.(this.credential, admission.waitMs / 1000);
      const due = readAt + admission.waitMs;
      if (admission.waitMs - spent > 0) await sleep(admission.waitMs - spent, signal);
      // Woken too late (a busy event loop), the call would crowd the next window: it takes a new slot.
      const tolerance = deprovision ? DEPROVISION_LATE_TOLERANCE_MS : LATE_TOLERANCE_MS;
      if (performance.now() - due <= tolerance || admission.probe) return { probe: admission.probe, reservedAt: admission.reservedAt };
    }
  }

  async report(slot: Slot, result: CallResult, retryAfterSeconds?: number): Promise<void> {
    if (result === "success" && this.calm && !slot.probe) return;
    const { state, back } = await this.credentials.update(this.credential, (text, now) => {
      const before = parse(text, this.limit, now);
      const next = afterCall(before, this.limit, this.circuit, now, result, retryAfterSeconds, slot.probe, slot.reservedAt);
      return { state: JSON.stringify(next), result: { state: next, back: recovered(before.circuit, next.circuit) } };
    });
    this.calm = state.circuit.failures === 0 && state.circuit.openUntil === 0;
    this.events.circuit?.(this.credential, state.circuit.openUntil > 0);
    if (result === "throttled") this.events.rate?.(this.credential, state.rate);
    // Seen by this one process only (the change is atomic in the store): it releases what the circuit held.
    if (back) this.events.recovered?.(this.credential);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => (signal.removeEventListener("abort", onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(timer), reject(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Targets sharing a credential share its limit: the strictest of their settings applies. Answers the
 * limit per credential.
 */
export function limitsByCredential(limits: { credential: string; limit: RateLimit }[]): Map<string, RateLimit> {
  const strictest = new Map<string, RateLimit>();
  for (const { credential, limit } of limits) {
    const seen = strictest.get(credential);
    strictest.set(credential, seen ? { perSecond: Math.min(seen.perSecond, limit.perSecond) } : { perSecond: limit.perSecond });
  }
  return strictest;
}

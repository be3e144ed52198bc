/**
 * The outbox's worker, one per bridge process. It claims due work under a lease (another process's lease
 * that expired, because that process died, falls back to whoever claims next), runs it through the target's
 * provisioner, and settles the row: done, retried later, or a dead letter. A request that recorded a change
 * runs that change at once here and waits for it up to its target's answer window (`settle`).
 */
import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../log";
import type { StoreLocks } from "../store/admin/port";
import type { OutboxStore } from "../store/outbox/port";
import { StoreUnavailableError, type ScimDocument, type WorkItem } from "../store/types";
import { endOf, outcomeOf, settlementOf, type DeliveryOutcome, type RetryPolicy, type RunEnd } from "./outbox";
import type { Step } from "./provisioner";
import { VendorRefusal } from "./refusal";

/** A target's side of the outbox: how its work is run, and retried. */
export interface OutboxTarget {
  /** Brings the vendor in line with the SCIM user as stored now (gone: its vendor user is removed). */
  deliver(scimId: string, step: Step, removedDoc?: ScimDocument): Promise<void>;
  retry: RetryPolicy;
  /** The longest one run may take (the vendor deadline). */
  runMs: number;
}

export interface WorkerSettings {
  /** Runs at once in this process, besides those requests start. */
  concurrency: number;
  leaseMs: number;
  /** How often due work is looked for when there is nothing to do. */
  pollMs: number;
}

export interface WorkerEvents {
  retry?(target: string): void;
  deadLetter?(target: string): void;
  /** A deprovisioning reached the vendor (its run is done), `seconds` after it was asked for. */
  deprovisioned?(target: string, seconds: number): void;
}

interface Run {
  generation: number;
  end: RunEnd;
}

const keyOf = (target: string, scimId: string) => `${target}/${scimId}`;

/** The row went to another process (this one was too slow to renew its lease): this run stops. */
class LeaseLost extends StoreUnavailableError {
  constructor() {
    super("the work's lease went to another process");
  }
}

/** A change's password lives only in the memory of the process that took it: gone with that process. */
const PASSWORD_LOST = new VendorRefusal(
  "invalid",
  "The password sent with this change was not delivered: the bridge process that took the request stopped before the vendor had it, and passwords are never stored. The rest of the change was applied; the IdP's next password change sets it.",
);

export class OutboxWorker {
  /** Names this process in leases. */
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly running = new Map<string, { promise: Promise<Run>; abort: AbortController }>();
  /** Passwords of changes not yet applied: kept in this process's memory only, never in the store. */
  private readonly passwords = new Map<string, string>();
  /** SHA-256 of the password each unanswered create carried, so a later run never sends it again. */
  private readonly createdWith = new Map<string, string>();
  private stopping = false;
  private loopDone?: Promise<void>;
  private wake?: () => void;

  constructor(
    private readonly outbox: OutboxStore,
    /** A run steps out of the lock of the request that started it. */
    private readonly locks: StoreLocks,
    private readonly targets: Map<string, OutboxTarget>,
    private readonly settings: WorkerSettings,
    private readonly log: Logger,
    private readonly events: WorkerEvents = {},
  ) {}

  start(): void {
    if (!this.loopDone) this.loopDone = this.loop();
  }

  /** Work is waiting: look now rather than at the next poll. */
  poke(): void {
    this.wake?.();
  }

  /**
   * The vendor of these targets answers again (their credential's circuit closed): the work it held is due
   * now, deprovisionings first (the claim's order), at the credential's full rate.
   */
  async release(targets: string[]): Promise<void> {
    try {
      const rows = await this.outbox.release(targets);
      this.log.info("outbox: the vendor answers again; the work its circuit held is due now", { targets, rows });
    } catch (error) {
      // Not released, not lost: each row comes due on its own schedule.
      this.log.warn("outbox: could not release the work a circuit held; it runs when due", { targets, error: (error as Error).message });
    }
    this.poke();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let claimed = 0;
      const free = this.settings.concurrency - this.running.size;
      if (free > 0) {
        try {
          // Only the targets this process serves: another target's work waits for a process that has it.
          const items = await this.outbox.claim(this.owner, this.settings.leaseMs, free, [...this.targets.keys()]);
          claimed = items.length;
          for (const item of items) void this.begin(item).catch(() => undefined);
        } catch (error) {
          this.log.warn("outbox: could not claim work; trying again", { error: (error as Error).message });
        }
      }
      // Full batch: there may be more due at once; otherwise wait for the poll or a poke.
      if (claimed > 0 && claimed === free) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.settings.pollMs);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      this.wake = undefined;
    }
  }

  /**
   * Stops claiming; lets runs in flight finish within `graceMs`, then cuts the rest off (their work stays in
   * the outbox, due again for any process). Answers how many runs finished and how many were cut off.
   */
  async stop(graceMs: number): Promise<{ finished: number; cutOff: number }> {
    this.stopping = true;
    this.wake?.();
    await this.loopDone;
    const inFlight = [...this.running.values()];
    let timer: NodeJS.Timeout | undefined;
    const allDone = Promise.allSettled(inFlight.map((r) => r.promise));
    await Promise.race([allDone, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    const cutOff = this.running.size;
    for (const run of this.running.values()) run.abort.abort(new Error("the bridge is shutting down"));
    await allDone;
    await this.outbox.releaseLeases(this.owner).catch(() => undefined);
    return { finished: inFlight.length - cutOff, cutOff };
  }

  /**
   * A request's wait for the change it just recorded: the change is run now (or the run already under way
   * is waited for), for at most `waitMs`. What it answers is the run's end; pending if there was none yet.
   */
  async settle(target: string, scimId: string, request: { requestId: string; password?: string; waitMs: number }): Promise<DeliveryOutcome> {
    try {
      return await this.settleOrThrow(target, scimId, request);
    } catch (error) {
      // The change is recorded: a store that fails while the request waits leaves it pending, not failed.
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.log.warn("outbox: the store failed while a request waited for its change; answered pending", { target, scimId, error: error.message });
      return { state: "pending" };
    }
  }

  private async settleOrThrow(target: string, scimId: string, request: { requestId: string; password?: string; waitMs: number }): Promise<DeliveryOutcome> {
    const key = keyOf(target, scimId);
    if (request.password) this.passwords.set(key, request.password);
    const deadline = performance.now() + request.waitMs;
    const recorded = (await this.outbox.workOf(target, [scimId])).get(scimId);
    const wanted = recorded?.generation ?? 0;
    // Even a request that does not wait starts its change's run at once — unless this process already runs
    // as much as its worker may (a backlog: the worker takes it in its turn). A deprovisioning always does.
    if (request.waitMs <= 0) {
      if (!this.running.has(key) && (recorded?.deprovision || this.running.size < this.settings.concurrency))
        await this.claim(target, scimId, request.requestId);
      return { state: "pending" };
    }
    while (performance.now() < deadline && !this.stopping) {
      const active = this.running.get(key)?.promise ?? (await this.claim(target, scimId, request.requestId))?.run;
      if (active) {
        const run = await within(active, deadline - performance.now());
        if (!run) break;
        if (run.generation >= wanted) return outcomeOf(run.end);
        continue;
      }
      const row = (await this.outbox.workOf(target, [scimId])).get(scimId);
      if (!row) return { state: "applied" };
      if (row.state !== "pending" && row.generation >= wanted) return row.state === "done" ? { state: "applied" } : { state: "pending" };
      // Another process holds the work: look again shortly.
      await delay(Math.min(100, Math.max(0, deadline - performance.now())));
    }
    return { state: "pending" };
  }

  /** Claims the resource's work and starts its run; answers the run (a box, so the run is not awaited here). */
  private async claim(target: string, scimId: string, requestId: string): Promise<{ run: Promise<Run> } | undefined> {
    if (this.stopping) return undefined;
    const item = await this.outbox.claimOne(target, scimId, this.owner, this.settings.leaseMs);
    return item ? { run: this.begin(item, requestId) } : undefined;
  }

  private begin(item: WorkItem, requestId?: string): Promise<Run> {
    const key = keyOf(item.target, item.scimId);
    const abort = new AbortController();
    // The run may outlive the request that started it: it never borrows that request's store connection.
    const promise = this.locks
      .detached(() => this.run(item, abort, requestId))
      .finally(() => {
        if (this.running.get(key)?.promise === promise) this.running.delete(key);
      });
    this.running.set(key, { promise, abort });
    return promise;
  }

  private async run(item: WorkItem, abort: AbortController, requestId?: string): Promise<Run> {
    const key = keyOf(item.target, item.scimId);
    const target = this.targets.get(item.target);
    if (!target) {
      // Work of a target this process does not serve (removed from the configuration): left for one that does.
      const detail = `The target '${item.target}' is not configured in this bridge process.`;
      await this.outbox
        .settle(item.target, item.scimId, this.owner, item.generation, { state: "pending", retryInMs: 300_000, attempted: false, detail })
        .catch(() => undefined);
      return { generation: item.generation, end: { kind: "retry", refusal: new VendorRefusal("unavailable", detail), attempted: false } };
    }
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(target.runMs)]);
    const renew = setInterval(
      () => void this.outbox.renew(this.owner, this.settings.leaseMs, [item]).catch(() => undefined),
      Math.max(100, this.settings.leaseMs / 3),
    );
    const step: Step = {
      signal,
      target: item.target,
      requestId: requestId ?? `outbox:${item.scimId.slice(0, 8)}:${item.generation}.${item.attempts + 1}`,
      password: this.passwords.get(key),
      deactivates: item.resendStatus,
      deprovision: item.deprovision,
      deadlineAt: performance.now() + target.runMs,
      intent: {
        lookupFirst: item.createIntent,
        // A run that lost its lease (another process has the row) must not send a create nobody records.
        sent: async () => {
          if (!(await this.outbox.markCreateIntent(item.target, item.scimId, this.owner, true))) throw new LeaseLost();
          if (step.password === undefined) this.createdWith.delete(key);
          else this.createdWith.set(key, digestOf(step.password));
        },
        carried: (password) => this.createdWith.get(key) === digestOf(password),
        answered: async () => {
          step.intent!.lookupFirst = false;
          await this.outbox.markCreateIntent(item.target, item.scimId, this.owner, false);
        },
      },
    };
    let end: RunEnd;
    try {
      await target.deliver(item.scimId, step, item.removedDoc);
      end = item.passwordPending && step.password === undefined && !item.deprovision ? { kind: "refused", refusal: PASSWORD_LOST } : { kind: "applied" };
    } catch (error) {
      end = endOf(error);
      if (end.kind === "retry" && end.unexpected)
        this.log.error("outbox: unexpected error running work", {
          target: item.target,
          scimId: item.scimId,
          error: (error as Error).message,
          stack: (error as Error).stack,
        });
    } finally {
      clearInterval(renew);
    }
    await this.record(item, end, Date.now());
    return { generation: item.generation, end };
  }

  /** Writes how the run ended, and says so in the log and the metrics. */
  private async record(item: WorkItem, end: RunEnd, now: number): Promise<void> {
    const target = this.targets.get(item.target)!;
    const settlement = settlementOf(item, end, target.retry, now);
    const about = { target: item.target, scimId: item.scimId, deprovision: item.deprovision, attempts: item.attempts + 1 };
    let after: WorkItem | undefined;
    try {
      after = await this.outbox.settle(item.target, item.scimId, this.owner, item.generation, settlement);
    } catch (error) {
      // The lease runs out and the work is claimed again: nothing is lost, at worst run twice (idempotently).
      this.log.warn("outbox: could not record the end of a run; it will run again", { ...about, error: (error as Error).message });
      return;
    }
    if (after?.state !== "pending") {
      this.passwords.delete(keyOf(item.target, item.scimId));
      this.createdWith.delete(keyOf(item.target, item.scimId));
    }
    if (after?.state === "done" && item.deprovision) this.events.deprovisioned?.(item.target, Math.max(0, now - (item.deprovisionAt ?? item.firstAt)) / 1000);
    if (end.kind === "applied") return;
    const vendor = { code: end.refusal.vendorCode, requestIdAtVendor: end.refusal.vendorRequestId, detail: end.refusal.message };
    if (settlement.state === "failed") {
      this.events.deadLetter?.(item.target);
      if (item.deprovision)
        this.log.error("outbox: the vendor refuses a deprovisioning — the leaver may still have access; a person must act", { ...about, ...vendor });
      else this.log.error("outbox: dead letter — a person must act", { ...about, ...vendor });
    } else if (settlement.state === "pending") {
      this.events.retry?.(item.target);
      const line = { ...about, ...vendor, retryInMs: settlement.retryInMs };
      if (end.kind === "refused") this.log.error("outbox: the vendor refuses a deprovisioning; retrying", line);
      else if (end.kind === "internal") this.log.error("outbox: a bug of the bridge stops a deprovisioning — the leaver may still have access; retrying", line);
      else this.log.warn("outbox: vendor work will be retried", line);
    }
  }
}

/** The promise's value if it settles within `ms`, else undefined. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, ms))));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const digestOf = (secret: string) => createHash("sha256").update(secret, "utf8").digest("hex");

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The outbox: each resource's vendor work, one row per resource. Work is recorded with the change that
 * implies it (resources' create / replace / remove); a process claims due work under a lease (another
 * process's expired lease falls back), and settles it.
 */
import type { OutboxStats, WorkItem, WorkSettlement } from "../types";

/** A row of the outbox, by the resource it is for. */
export interface WorkKey {
  target: string;
  scimId: string;
}

export interface OutboxStore {
  /** Due pending work of `targets` (those the process serves) no live lease holds, deprovisioning first, leased to `owner` for `leaseMs`. */
  claim(owner: string, leaseMs: number, limit: number, targets: string[]): Promise<WorkItem[]>;
  /** One resource's work, if it is pending and no live lease holds it (due or not). */
  claimOne(target: string, scimId: string, owner: string, leaseMs: number): Promise<WorkItem | undefined>;
  renew(owner: string, leaseMs: number, items: WorkKey[]): Promise<void>;
  /** Records that a create is about to go out (`on`), or that its answer arrived (`off`); false when `owner` no longer holds the row. */
  markCreateIntent(target: string, scimId: string, owner: string, on: boolean): Promise<boolean>;
  /**
   * Ends `owner`'s run of `generation`. A change recorded meanwhile (a newer generation) keeps the row
   * pending and due now, whatever the run's outcome. Answers the row as it is after.
   */
  settle(target: string, scimId: string, owner: string, generation: number, settlement: WorkSettlement): Promise<WorkItem | undefined>;
  workOf(target: string, scimIds: string[]): Promise<Map<string, WorkItem>>;
  /** Rows not done (or in `state`), deprovisioning first, then oldest first. */
  list(filter: { target?: string; state?: WorkItem["state"]; limit: number }): Promise<WorkItem[]>;
  /** A failed (or pending) row made due now, attempts and horizon restarted; answers how many rows. */
  redrive(target: string, which: { scimId: string } | { failed: true }, horizonMs: number): Promise<number>;
  drop(target: string, scimId: string): Promise<boolean>;
  /** Gives up `owner`'s leases (shutdown): the work is due again for any process. */
  releaseLeases(owner: string): Promise<void>;
  /** Pending work of `targets` that waits is made due now (their vendor's circuit closed); answers how many rows. */
  release(targets: string[]): Promise<number>;
  stats(): Promise<OutboxStats>;
}

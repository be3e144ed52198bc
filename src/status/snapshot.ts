/**
 * What the status page shows, per target: the vendor, its credential's circuit, the outbox (pending and
 * failed, with the oldest age), the latest deprovisionings and what the vendor answered, and the latest
 * vendor failures with their code and RequestId. Read from the store, so every replica's work shows.
 */
import type { LiveTargets } from "../http/live-targets";
import { mappingAt } from "../provisioning/targets";
import { VendorProvisioner } from "../provisioning/vendor-provisioner";
import type { Stores } from "../store/stores";
import type { OutboxStats, VendorCallRecord, WorkItem } from "../store/types";
import { VERSION } from "../version";

/** The mapping operations that take access away: a leaver's path at the vendor. */
const DEPROVISIONING = new Set(["disable", "delete", "removeLogin"]);
/** How many calls are read back per target to find the latest deprovisionings and failures. */
const RECENT_CALLS = 500;
const SHOWN = 5;
/** Rows read to find the oldest of a queue; the counts are exact whatever the size. */
const OLDEST_SCAN = 10_000;

export interface CallView {
  at: string;
  operation: string;
  call: string;
  outcome: string;
  code?: string;
  vendorRequestId?: string;
  scimId?: string;
}

export interface QueueView {
  count: number;
  /** Seconds since the oldest of them was recorded (among the first OLDEST_SCAN rows). */
  oldestSeconds?: number;
}

export interface TargetStatus {
  name: string;
  /** The mapping's vendor name, or null for a store-only target. */
  vendor: string | null;
  circuit: "closed" | "open" | "probing" | "unknown" | null;
  pending: QueueView & { /** The oldest open deprovisioning: someone who left may still have access. */ deprovisionSeconds?: number };
  failed: QueueView;
  deprovisionings: CallView[];
  failures: CallView[];
}

export interface StatusSnapshot {
  version: string;
  at: string;
  targets: TargetStatus[];
}

function callView(c: VendorCallRecord): CallView {
  return { at: c.at, operation: c.operation, call: c.call, outcome: c.outcome, code: c.code, vendorRequestId: c.vendorRequestId, scimId: c.scimId };
}

const ageOf = (since: number, now: number) => Math.max(0, Math.round((now - since) / 1000));

function queueOf(count: number, items: WorkItem[], now: number): QueueView {
  if (count === 0 || items.length === 0) return { count };
  return { count, oldestSeconds: ageOf(Math.min(...items.map((i) => i.firstAt)), now) };
}

async function circuitOf(live: LiveTargets, name: string): Promise<TargetStatus["circuit"]> {
  const provisioner = live.current.provisioners.get(name);
  if (!(provisioner instanceof VendorProvisioner)) return null;
  return provisioner.circuitNow().catch(() => "unknown" as const);
}

async function targetStatus(
  live: LiveTargets,
  stores: StatusStores,
  stats: OutboxStats,
  target: { name: string; vendor?: { mapping: string } },
  now: number,
): Promise<TargetStatus> {
  const count = (state: "pending" | "failed") => stats.depth.find((d) => d.target === target.name && d.state === state)?.count ?? 0;
  const deprovision = stats.oldestDeprovision.find((o) => o.target === target.name);
  const [pending, failed, calls, circuit] = await Promise.all([
    stores.outbox.list({ target: target.name, state: "pending", limit: OLDEST_SCAN }),
    stores.outbox.list({ target: target.name, state: "failed", limit: OLDEST_SCAN }),
    target.vendor ? stores.trail.calls(target.name, { limit: RECENT_CALLS }) : Promise.resolve([]),
    circuitOf(live, target.name),
  ]);
  return {
    name: target.name,
    vendor: target.vendor ? mappingAt(target.vendor.mapping).vendor : null,
    circuit,
    pending: { ...queueOf(count("pending"), pending, now), ...(deprovision ? { deprovisionSeconds: ageOf(deprovision.since, now) } : {}) },
    failed: queueOf(count("failed"), failed, now),
    deprovisionings: calls
      .filter((c) => DEPROVISIONING.has(c.operation))
      .slice(0, SHOWN)
      .map(callView),
    failures: calls
      .filter((c) => c.outcome !== "success" && c.outcome !== "notFound")
      .slice(0, SHOWN)
      .map(callView),
  };
}

/** What the status page reads: the outbox and the trail. */
export type StatusStores = Pick<Stores, "outbox" | "trail">;

export async function statusSnapshot(live: LiveTargets, stores: StatusStores, now = Date.now()): Promise<StatusSnapshot> {
  const stats = await stores.outbox.stats();
  const targets = await Promise.all(live.current.config.targets.map((t) => targetStatus(live, stores, stats, t, now)));
  return { version: VERSION, at: new Date(now).toISOString(), targets };
}

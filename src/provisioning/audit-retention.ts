/** The vendor call trail is kept for `audit.retainDays`: older records are pruned at start and once a day. */
import type { Logger } from "../log";
import type { TrailStore } from "../store/trail/port";

const DAY_MS = 24 * 60 * 60 * 1000;

export async function pruneAuditTrail(trail: TrailStore, retainDays: number, log: Logger, now = Date.now()): Promise<number> {
  try {
    const removed = await trail.prune(new Date(now - retainDays * DAY_MS).toISOString());
    if (removed > 0) log.info("vendor call trail pruned", { removed, retainDays });
    return removed;
  } catch (error) {
    // Pruning is housekeeping: a failed run is retried tomorrow and never stops the bridge.
    log.warn("vendor call trail could not be pruned", { error: (error as Error).message });
    return 0;
  }
}

/** Prunes now and then daily; the answer stops the schedule. */
export function scheduleAuditRetention(trail: TrailStore, retainDays: number, log: Logger): () => void {
  void pruneAuditTrail(trail, retainDays, log);
  const timer = setInterval(() => void pruneAuditTrail(trail, retainDays, log), DAY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

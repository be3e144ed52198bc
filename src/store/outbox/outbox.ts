/** The outbox's SQL, once for both databases. */
import { oneOf, type Database } from "../database";
import type { OutboxStats, WorkItem, WorkSettlement } from "../types";
import type { OutboxStore, WorkKey } from "./port";
import { settlementValues, toWorkItem, type OutboxRow } from "./rows";
import { OPEN_DEPROVISION_SINCE, settleSql } from "./sql";

/** Deprovisioning first, then the longest due. */
const claimOrder = (a: WorkItem, b: WorkItem) => Number(b.deprovision) - Number(a.deprovision) || a.nextAt - b.nextAt;

export class Outbox implements OutboxStore {
  private readonly sql: { claim: string; renew: string; settle: string; redrive: string; release: string };

  constructor(private readonly db: Database) {
    const d = db.dialect;
    this.sql = {
      claim: `UPDATE outbox SET lease_owner = :owner, lease_until = :until
        WHERE (target, scim_id) IN (
          SELECT target, scim_id FROM outbox
          WHERE state = 'pending' AND next_at <= :now AND (lease_until IS NULL OR lease_until < :now) AND ${d.isAnyOf("target", "targets")}
          ORDER BY deprovision DESC, next_at LIMIT :limit${d.skipLocked})
        RETURNING *`,
      renew: `UPDATE outbox SET lease_until = :until WHERE lease_owner = :owner
        AND (target, scim_id) IN (SELECT i.value ->> 'target', i.value ->> 'scimId' FROM ${d.elements("items", "i")})`,
      settle: settleSql(d),
      release: `UPDATE outbox SET next_at = :now WHERE state = 'pending' AND next_at > :now AND ${d.isAnyOf("target", "targets")}`,
      redrive: `state = 'pending', next_at = :now, attempts = 0, first_at = :now, horizon_at = CASE WHEN deprovision = 1 THEN NULL ELSE ${d.bigint(":horizon")} END`,
    };
  }

  async claim(owner: string, leaseMs: number, limit: number, targets: string[]): Promise<WorkItem[]> {
    const now = Date.now();
    const rows = await this.db.rows<OutboxRow>(this.sql.claim, { owner, until: now + leaseMs, now, targets, limit });
    return rows.map(toWorkItem).sort(claimOrder);
  }

  async claimOne(target: string, scimId: string, owner: string, leaseMs: number): Promise<WorkItem | undefined> {
    const now = Date.now();
    const row = await this.db.row<OutboxRow>(
      `UPDATE outbox SET lease_owner = :owner, lease_until = :until
       WHERE target = :target AND scim_id = :scimId AND state = 'pending' AND (lease_until IS NULL OR lease_until < :now) RETURNING *`,
      { owner, until: now + leaseMs, target, scimId, now },
    );
    return row ? toWorkItem(row) : undefined;
  }

  async renew(owner: string, leaseMs: number, items: WorkKey[]): Promise<void> {
    if (items.length === 0) return;
    await this.db.run(this.sql.renew, { until: Date.now() + leaseMs, owner, items: JSON.stringify(items.map(({ target, scimId }) => ({ target, scimId }))) });
  }

  async markCreateIntent(target: string, scimId: string, owner: string, on: boolean): Promise<boolean> {
    const changed = await this.db.run("UPDATE outbox SET create_intent = :on WHERE target = :target AND scim_id = :scimId AND lease_owner = :owner", {
      on: on ? 1 : 0,
      target,
      scimId,
      owner,
    });
    return changed > 0;
  }

  async settle(target: string, scimId: string, owner: string, generation: number, settlement: WorkSettlement): Promise<WorkItem | undefined> {
    const now = Date.now();
    const row = await this.db.row<OutboxRow>(this.sql.settle, { target, scimId, owner, generation, now, ...settlementValues(settlement, now) });
    return row ? toWorkItem(row) : undefined;
  }

  async workOf(target: string, scimIds: string[]): Promise<Map<string, WorkItem>> {
    if (scimIds.length === 0) return new Map();
    const { condition, params } = oneOf(this.db.dialect, "scim_id", "scimIds", scimIds);
    const rows = await this.db.rows<OutboxRow>(`SELECT * FROM outbox WHERE target = :target AND ${condition}`, { target, ...params });
    return new Map(rows.map((row) => [row.scim_id, toWorkItem(row)]));
  }

  async list(filter: { target?: string; state?: WorkItem["state"]; limit: number }): Promise<WorkItem[]> {
    const rows = await this.db.rows<OutboxRow>(
      `SELECT * FROM outbox
       WHERE (CAST(:target AS TEXT) IS NULL OR target = :target) AND (CAST(:state AS TEXT) IS NULL OR state = :state)
         AND (CAST(:state AS TEXT) IS NOT NULL OR state <> 'done')
       ORDER BY deprovision DESC, first_at LIMIT :limit`,
      { target: filter.target ?? null, state: filter.state ?? null, limit: filter.limit },
    );
    return rows.map(toWorkItem);
  }

  async redrive(target: string, which: { scimId: string } | { failed: true }, horizonMs: number): Promise<number> {
    const now = Date.now();
    const values = { now, horizon: now + horizonMs, target };
    return "scimId" in which
      ? this.db.run(`UPDATE outbox SET ${this.sql.redrive} WHERE target = :target AND scim_id = :scimId AND state <> 'done'`, {
          ...values,
          scimId: which.scimId,
        })
      : this.db.run(`UPDATE outbox SET ${this.sql.redrive} WHERE target = :target AND state = 'failed'`, values);
  }

  async drop(target: string, scimId: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM outbox WHERE target = :target AND scim_id = :scimId", { target, scimId })) > 0;
  }

  async releaseLeases(owner: string): Promise<void> {
    await this.db.run("UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = :owner", { owner });
  }

  async release(targets: string[]): Promise<number> {
    return this.db.run(this.sql.release, { now: Date.now(), targets });
  }

  async stats(): Promise<OutboxStats> {
    const depth = await this.db.rows<{ target: string; state: "pending" | "failed"; count: number | string }>(
      "SELECT target, state, COUNT(*) AS count FROM outbox WHERE state <> 'done' GROUP BY target, state",
    );
    const oldest = await this.db.rows<{ target: string; since: number | string }>(
      `SELECT target, MIN(${OPEN_DEPROVISION_SINCE}) AS since FROM outbox WHERE state <> 'done' AND deprovision = 1 GROUP BY target`,
    );
    return {
      depth: depth.map((r) => ({ target: r.target, state: r.state, count: Number(r.count) })),
      oldestDeprovision: oldest.map((r) => ({ target: r.target, since: Number(r.since) })),
    };
  }
}

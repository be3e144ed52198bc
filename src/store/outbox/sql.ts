/**
 * The outbox's two writes that carry its rules. Recording work is also part of every resource write that
 * implies vendor work (resources/resources.ts), in that write's transaction.
 */
import type { Dialect, Sql } from "../database";
import type { WorkOrder } from "../types";

/** Whose rows an enqueue writes: the resource's, the users among :ids, or the user members of :groupId. */
type WorkSource = "resource" | "users" | "members";

/**
 * Records a change's work: a new pending row, or the resource's row reset to pending and due now. Work
 * already pending keeps its attempts and age; work not done keeps its deprovisioning and when that was asked
 * (a deactivation is never dropped by a later change, nor one the vendor refused); otherwise a row that was
 * done or failed starts over.
 */
function enqueueSql(dialect: Dialect, source: WorkSource): string {
  const { greatest, bigint } = dialect;
  const values = `'pending', 1, CAST(:deprovision AS INTEGER), CAST(:resend AS INTEGER), 0, ${bigint(":now")}, ${bigint(":now")}, ${bigint(":horizon")},
          CAST(:removedDoc AS TEXT), CAST(:password AS INTEGER), CASE WHEN :deprovision = 1 THEN ${bigint(":now")} END`;
  const rows =
    source === "resource"
      ? `VALUES (:target, :scimId, ${values})`
      : source === "users"
        ? `SELECT r.target, r.id, ${values} FROM resources r WHERE r.target = :target AND r.kind = 'User' AND ${dialect.isAnyOf("r.id", "ids")}`
        : `SELECT r.target, r.id, ${values} FROM group_members m JOIN resources r ON r.id = m.member_id AND r.target = m.target
           WHERE m.group_id = :groupId AND m.target = :target AND r.kind = 'User'`;
  return `
  INSERT INTO outbox (target, scim_id, state, generation, deprovision, resend_status, attempts, next_at, first_at, horizon_at, removed_doc, password_pending, deprovision_at)
  ${rows}
  ON CONFLICT (target, scim_id) DO UPDATE SET
    generation = outbox.generation + 1,
    deprovision = CASE WHEN outbox.state <> 'done' THEN ${greatest}(outbox.deprovision, excluded.deprovision) ELSE excluded.deprovision END,
    deprovision_at = CASE WHEN outbox.state <> 'done' AND outbox.deprovision = 1 THEN outbox.deprovision_at ELSE excluded.deprovision_at END,
    resend_status = CASE WHEN outbox.state <> 'done' THEN ${greatest}(outbox.resend_status, excluded.resend_status) ELSE excluded.resend_status END,
    attempts = CASE WHEN outbox.state = 'pending' THEN outbox.attempts ELSE 0 END,
    first_at = CASE WHEN outbox.state = 'pending' THEN outbox.first_at ELSE excluded.first_at END,
    horizon_at = CASE WHEN excluded.deprovision = 1 OR (outbox.state <> 'done' AND outbox.deprovision = 1) THEN NULL
                      WHEN outbox.state = 'pending' THEN outbox.horizon_at ELSE excluded.horizon_at END,
    removed_doc = COALESCE(excluded.removed_doc, outbox.removed_doc),
    password_pending = CASE WHEN outbox.state = 'pending' THEN ${greatest}(outbox.password_pending, excluded.password_pending) ELSE excluded.password_pending END,
    state = 'pending',
    next_at = excluded.next_at`;
}

const ENQUEUE = new Map<Dialect, Map<WorkSource, string>>();

function enqueueFor(dialect: Dialect, source: WorkSource): string {
  let texts = ENQUEUE.get(dialect);
  if (!texts) ENQUEUE.set(dialect, (texts = new Map()));
  let sql = texts.get(source);
  if (!sql) texts.set(source, (sql = enqueueSql(dialect, source)));
  return sql;
}

/** When an open deprovisioning was asked for (rows from before the column have their first change's time). */
export const OPEN_DEPROVISION_SINCE = "COALESCE(deprovision_at, first_at)";

/** The values every enqueue binds for `order` (flags are the integers 1 and 0 in both databases: the columns are INTEGER). */
function orderValues(order: WorkOrder): Record<string, unknown> {
  const now = Date.now();
  return {
    deprovision: order.deprovision ? 1 : 0,
    resend: order.resendStatus ? 1 : 0,
    now,
    horizon: order.deprovision ? null : now + order.horizonMs,
    removedDoc: order.removedDoc ? JSON.stringify(order.removedDoc) : null,
    password: order.password ? 1 : 0,
  };
}

/** Records the work `order` describes for the resource, in the caller's transaction. */
export async function recordWork(tx: Sql, dialect: Dialect, target: string, scimId: string, order: WorkOrder): Promise<void> {
  await tx.run(enqueueFor(dialect, "resource"), { target, scimId, ...orderValues(order) });
}

/**
 * Records `order` for the users a membership change touches, in the caller's transaction: those among
 * `who.ids`, or every user member of `who.groupId` (run before the memberships are removed). For a vendor
 * that keeps a user's groups on the user: its groups reach it with the user's own work.
 */
export async function recordMemberWork(
  tx: Sql,
  dialect: Dialect,
  target: string,
  who: { ids: string[] } | { groupId: string },
  order: WorkOrder,
): Promise<void> {
  if ("ids" in who && who.ids.length === 0) return;
  const source = "ids" in who ? "users" : "members";
  await tx.run(enqueueFor(dialect, source), { target, ...who, ...orderValues(order) });
}

/**
 * Ends a run: its outcome if no change came meanwhile (the generation it ran still current), else pending
 * and due now. The lease is given up; a run whose lease was lost changes nothing.
 */
export function settleSql({ bigint }: Dialect): string {
  const current = "generation = :generation";
  return `
  UPDATE outbox SET
    state = CASE WHEN ${current} THEN :state ELSE 'pending' END,
    next_at = CASE WHEN ${current} THEN ${bigint(":nextAt")} ELSE ${bigint(":now")} END,
    attempts = CASE WHEN ${current} AND :state = 'done' THEN 0 ELSE attempts + :attempted END,
    resend_status = CASE WHEN ${current} AND :state = 'done' THEN 0 ELSE resend_status END,
    create_intent = CASE WHEN :state = 'done' THEN 0 ELSE create_intent END,
    password_pending = CASE WHEN ${current} AND :state <> 'pending' THEN 0 ELSE password_pending END,
    last_at = :now, last_code = :code, last_detail = :detail, last_vendor_request_id = :vendorRequestId,
    lease_owner = NULL, lease_until = NULL
  WHERE target = :target AND scim_id = :scimId AND lease_owner = :owner
  RETURNING *`;
}

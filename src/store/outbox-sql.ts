/**
 * The outbox's two writes that carry its rules, as SQL both stores run: SQLite with named parameters,
 * PostgreSQL with positional ones (`param` names each), and each dialect's GREATEST.
 */

export interface Dialect {
  param(name: string): string;
  greatest: "MAX" | "GREATEST";
  bigint(expression: string): string;
}

export const SQLITE: Dialect = { param: (name) => `@${name}`, greatest: "MAX", bigint: (e) => e };

/** PostgreSQL's positional parameters, numbered in the order `names` gives. */
export function postgresDialect(names: string[]): Dialect {
  return { param: (name) => `$${names.indexOf(name) + 1}`, greatest: "GREATEST", bigint: (e) => `${e}::bigint` };
}

/**
 * Records a change's work: a new pending row, or the resource's row reset to pending and due now. Work
 * already pending keeps its attempts and age; work not done keeps its deprovisioning and when that was asked
 * (a deactivation is never dropped by a later change, nor one the vendor refused); otherwise a row that was
 * done or failed starts over. Parameters: ENQUEUE_PARAMS.
 */
export function enqueueSql({ param: p, greatest, bigint }: Dialect): string {
  return `
  INSERT INTO outbox (target, scim_id, state, generation, deprovision, resend_status, attempts, next_at, first_at, horizon_at, removed_doc, password_pending, deprovision_at)
  VALUES (${p("target")}, ${p("scimId")}, 'pending', 1, ${p("deprovision")}, ${p("resend")}, 0, ${p("now")}, ${p("now")}, ${p("horizon")}, ${p("removedDoc")}, ${p("password")},
          CASE WHEN ${p("deprovision")} = 1 THEN ${bigint(p("now"))} END)
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

/** When an open deprovisioning was asked for (rows from before the column have their first change's time). */
export const OPEN_DEPROVISION_SINCE = "COALESCE(deprovision_at, first_at)";

export const ENQUEUE_PARAMS = ["target", "scimId", "deprovision", "resend", "now", "horizon", "removedDoc", "password"];

/**
 * Ends a run: its outcome if no change came meanwhile (the generation it ran still current), else pending
 * and due now. The lease is given up; a run whose lease was lost changes nothing.
 */
export function settleSql({ param: p, bigint }: Dialect): string {
  const current = `generation = ${p("generation")}`;
  return `
  UPDATE outbox SET
    state = CASE WHEN ${current} THEN ${p("state")} ELSE 'pending' END,
    next_at = CASE WHEN ${current} THEN ${bigint(p("nextAt"))} ELSE ${bigint(p("now"))} END,
    attempts = CASE WHEN ${current} AND ${p("state")} = 'done' THEN 0 ELSE attempts + ${p("attempted")} END,
    resend_status = CASE WHEN ${current} AND ${p("state")} = 'done' THEN 0 ELSE resend_status END,
    create_intent = CASE WHEN ${p("state")} = 'done' THEN 0 ELSE create_intent END,
    password_pending = CASE WHEN ${current} AND ${p("state")} <> 'pending' THEN 0 ELSE password_pending END,
    last_at = ${p("now")}, last_code = ${p("code")}, last_detail = ${p("detail")}, last_vendor_request_id = ${p("vendorRequestId")},
    lease_owner = NULL, lease_until = NULL
  WHERE target = ${p("target")} AND scim_id = ${p("scimId")} AND lease_owner = ${p("owner")}
  RETURNING *`;
}

export const SETTLE_PARAMS = ["target", "scimId", "owner", "generation", "state", "nextAt", "now", "attempted", "code", "detail", "vendorRequestId"];

/** An outbox row as both databases read it back (PostgreSQL hands BIGINT back as text), and a settlement's values. */
import type { ScimDocument, WorkItem, WorkSettlement } from "../types";

export interface OutboxRow {
  target: string;
  scim_id: string;
  state: WorkItem["state"];
  generation: number | string;
  deprovision: number;
  resend_status: number;
  attempts: number;
  next_at: number | string;
  create_intent: number;
  first_at: number | string;
  horizon_at: number | string | null;
  last_at: number | string | null;
  last_code: string | null;
  last_detail: string | null;
  last_vendor_request_id: string | null;
  lease_owner: string | null;
  lease_until: number | string | null;
  removed_doc: string | null;
  password_pending: number;
  deprovision_at: number | string | null;
}

const ms = (value: number | string | null): number | undefined => (value === null ? undefined : Number(value));

export function toWorkItem(row: OutboxRow): WorkItem {
  const optional = <T>(key: keyof WorkItem, value: T | null | undefined) => (value === null || value === undefined ? {} : { [key]: value });
  return {
    target: row.target,
    scimId: row.scim_id,
    state: row.state,
    generation: Number(row.generation),
    deprovision: Number(row.deprovision) === 1,
    resendStatus: Number(row.resend_status) === 1,
    attempts: Number(row.attempts),
    nextAt: Number(row.next_at),
    createIntent: Number(row.create_intent) === 1,
    passwordPending: Number(row.password_pending) === 1,
    firstAt: Number(row.first_at),
    ...optional("horizonAt", ms(row.horizon_at)),
    ...optional("lastAt", ms(row.last_at)),
    ...optional("lastCode", row.last_code),
    ...optional("lastDetail", row.last_detail),
    ...optional("lastVendorRequestId", row.last_vendor_request_id),
    ...optional("leaseOwner", row.lease_owner),
    ...optional("leaseUntil", ms(row.lease_until)),
    ...optional("deprovisionAt", ms(row.deprovision_at)),
    ...optional("removedDoc", row.removed_doc === null ? null : (JSON.parse(row.removed_doc) as ScimDocument)),
  } as WorkItem;
}

/** The values a settlement writes: state (if the generation still matches), when it is due, what the vendor said. */
export function settlementValues(
  settlement: WorkSettlement,
  now: number,
): { state: WorkItem["state"]; nextAt: number; attempted: number; code: string | null; detail: string | null; vendorRequestId: string | null } {
  if (settlement.state === "done") return { state: "done", nextAt: now, attempted: 0, code: null, detail: null, vendorRequestId: null };
  const said = { code: settlement.code ?? null, detail: settlement.detail, vendorRequestId: settlement.vendorRequestId ?? null };
  if (settlement.state === "failed") return { state: "failed", nextAt: now, attempted: 1, ...said };
  // Whole milliseconds: PostgreSQL's BIGINT takes no fraction (a wait computed from a rate can have one).
  return { state: "pending", nextAt: Math.round(now + settlement.retryInMs), attempted: settlement.attempted ? 1 : 0, ...said };
}

/** The rows both stores read back, and how they become the store's types. */
import type {
  ResourceKind,
  ScimDocument,
  SortColumn,
  StoredResource,
  VendorCallOutcome,
  VendorCallRecord,
  VendorLink,
  WorkItem,
  WorkSettlement,
} from "./types";

/** SQLite hands JSON columns back as text, PostgreSQL (JSONB) as values. */
type Json<T> = T | string;

function json<T>(value: Json<T>): T {
  return typeof value === "string" ? (JSON.parse(value) as T) : value;
}

export interface ResourceRow {
  id: string;
  kind: ResourceKind;
  doc: Json<ScimDocument>;
  created: string;
  last_modified: string;
  version: number;
}

export function toResource(row: ResourceRow): StoredResource {
  return { id: row.id, kind: row.kind, doc: json(row.doc), created: row.created, lastModified: row.last_modified, version: row.version };
}

/** Columns a list can be ordered by without reading documents. */
export const SORT_COLUMN: Record<SortColumn, string> = {
  created: "created",
  lastModified: "last_modified",
  id: "id",
  userName: "name_key",
  displayName: "display_key",
  externalId: "external_id",
};

export interface LinkRow {
  target: string;
  scim_id: string;
  vendor: string;
  vendor_key: string;
  link: "created" | "adopted";
  user_name: string;
  created_at: string;
  deleted_at: string | null;
  state: VendorLink["state"];
  acknowledged: Json<VendorLink["acknowledged"]>;
}

export function toLink(row: LinkRow): VendorLink {
  return {
    target: row.target,
    scimId: row.scim_id,
    vendor: row.vendor,
    vendorKey: row.vendor_key,
    link: row.link,
    userName: row.user_name,
    state: row.state,
    acknowledged: json(row.acknowledged),
    createdAt: row.created_at,
    ...(row.deleted_at ? { deletedAt: row.deleted_at } : {}),
  };
}

export interface VendorCallRow {
  target: string;
  at: string;
  request_id: string;
  scim_id: string | null;
  operation: string;
  call: string;
  outcome: VendorCallOutcome;
  code: string | null;
  vendor_request_id: string | null;
  attempts: number;
  ms: number;
  name_hash: string | null;
  vendor_key: string | null;
}

export const VENDOR_CALL_COLUMNS = "target, at, request_id, scim_id, operation, call, outcome, code, vendor_request_id, attempts, ms, name_hash, vendor_key";

export function vendorCallValues(r: VendorCallRecord): unknown[] {
  return [
    r.target,
    r.at,
    r.requestId,
    r.scimId ?? null,
    r.operation,
    r.call,
    r.outcome,
    r.code ?? null,
    r.vendorRequestId ?? null,
    r.attempts,
    r.ms,
    r.nameHash ?? null,
    r.vendorKey ?? null,
  ];
}

export function toVendorCall(row: VendorCallRow): VendorCallRecord {
  return {
    target: row.target,
    at: row.at,
    requestId: row.request_id,
    ...(row.scim_id ? { scimId: row.scim_id } : {}),
    operation: row.operation,
    call: row.call,
    outcome: row.outcome,
    ...(row.code ? { code: row.code } : {}),
    ...(row.vendor_request_id ? { vendorRequestId: row.vendor_request_id } : {}),
    attempts: row.attempts,
    ms: row.ms,
    ...(row.name_hash ? { nameHash: row.name_hash } : {}),
    ...(row.vendor_key ? { vendorKey: row.vendor_key } : {}),
  };
}

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

/** PostgreSQL hands BIGINT back as text. */
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

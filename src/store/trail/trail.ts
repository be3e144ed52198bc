/** The vendor call trail's SQL, once for both databases. */
import type { Database } from "../database";
import type { VendorCallOutcome, VendorCallRecord } from "../types";
import type { TrailStore } from "./port";

interface VendorCallRow {
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

const COLUMNS = "target, at, request_id, scim_id, operation, call, outcome, code, vendor_request_id, attempts, ms, name_hash, vendor_key";

function toVendorCall(row: VendorCallRow): VendorCallRecord {
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

/** Create calls whose vendor user may exist. */
const CREATES = "FROM vendor_calls WHERE target = :target AND operation = 'create' AND outcome IN ('success', 'deadline', 'transient')";

export class Trail implements TrailStore {
  private readonly createsNamed: string;

  constructor(private readonly db: Database) {
    // Ordered here: ORDER BY seq would lead SQLite (which keeps no statistics) to read all the target's calls.
    this.createsNamed = `SELECT seq, ${COLUMNS} ${CREATES} AND ${db.dialect.isAnyOf("name_hash", "nameHashes")}`;
  }

  async record(r: VendorCallRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO vendor_calls (${COLUMNS})
       VALUES (:target, :at, :requestId, :scimId, :operation, :call, :outcome, :code, :vendorRequestId, :attempts, :ms, :nameHash, :vendorKey)`,
      { ...r },
    );
  }

  async calls(target: string, filter: { scimId?: string; limit: number }): Promise<VendorCallRecord[]> {
    const rows = filter.scimId
      ? await this.db.rows<VendorCallRow>(`SELECT ${COLUMNS} FROM vendor_calls WHERE target = :target AND scim_id = :scimId ORDER BY seq DESC LIMIT :limit`, {
          target,
          scimId: filter.scimId,
          limit: filter.limit,
        })
      : await this.db.rows<VendorCallRow>(`SELECT ${COLUMNS} FROM vendor_calls WHERE target = :target ORDER BY seq DESC LIMIT :limit`, {
          target,
          limit: filter.limit,
        });
    return rows.map(toVendorCall);
  }

  async createCalls(target: string, nameHashes?: string[]): Promise<VendorCallRecord[]> {
    if (!nameHashes) return (await this.db.rows<VendorCallRow>(`SELECT ${COLUMNS} ${CREATES} ORDER BY seq DESC`, { target })).map(toVendorCall);
    const rows = await this.db.rows<VendorCallRow & { seq: number | string }>(this.createsNamed, { target, nameHashes });
    return rows.sort((a, b) => Number(b.seq) - Number(a.seq)).map(toVendorCall);
  }

  async prune(before: string): Promise<number> {
    return this.db.run("DELETE FROM vendor_calls WHERE at < :before", { before });
  }
}

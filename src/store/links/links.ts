/** The vendor links' SQL, once for both databases. */
import { fromJson, oneOf, type Database, type JsonColumn } from "../database";
import type { NewVendorLink, VendorGroupLink, VendorLink } from "../types";
import type { LinkChange, LinkStore } from "./port";

interface LinkRow {
  target: string;
  scim_id: string;
  vendor: string;
  vendor_key: string;
  link: "created" | "adopted";
  user_name: string;
  created_at: string;
  deleted_at: string | null;
  state: VendorLink["state"];
  acknowledged: JsonColumn<VendorLink["acknowledged"]>;
}

function toLink(row: LinkRow): VendorLink {
  return {
    target: row.target,
    scimId: row.scim_id,
    vendor: row.vendor,
    vendorKey: row.vendor_key,
    link: row.link,
    userName: row.user_name,
    state: row.state,
    acknowledged: fromJson(row.acknowledged),
    createdAt: row.created_at,
    ...(row.deleted_at ? { deletedAt: row.deleted_at } : {}),
  };
}

/** The columns a change may set, by the change's field. */
const CHANGE_COLUMN = { state: "state", acknowledged: "acknowledged", vendorKey: "vendor_key", link: "link" } as const;

export class Links implements LinkStore {
  private readonly holdingSql: string;

  constructor(private readonly db: Database) {
    this.holdingSql = `SELECT * FROM vendor_links WHERE ${db.dialect.isAnyOf("target", "targets")} AND vendor_key = :vendorKey AND deleted_at IS NULL AND state <> 'removed'`;
  }

  async record(link: NewVendorLink): Promise<VendorLink> {
    const createdAt = new Date().toISOString();
    const full: VendorLink = { state: "active", acknowledged: {}, ...link, createdAt };
    await this.db.run(
      `INSERT INTO vendor_links (target, scim_id, vendor, vendor_key, link, user_name, created_at, state, acknowledged)
       VALUES (:target, :scimId, :vendor, :vendorKey, :link, :userName, :createdAt, :state, :acknowledged)
       ON CONFLICT (target, scim_id) DO UPDATE SET vendor = excluded.vendor, vendor_key = excluded.vendor_key, link = excluded.link,
         user_name = excluded.user_name, created_at = excluded.created_at, state = excluded.state, acknowledged = excluded.acknowledged, deleted_at = NULL`,
      { ...full, acknowledged: JSON.stringify(full.acknowledged) },
    );
    return full;
  }

  async update(target: string, scimId: string, change: LinkChange): Promise<void> {
    const fields = (Object.keys(CHANGE_COLUMN) as (keyof LinkChange)[]).filter((field) => change[field] !== undefined);
    if (fields.length === 0) return;
    const values = Object.fromEntries(fields.map((field) => [field, field === "acknowledged" ? JSON.stringify(change.acknowledged) : change[field]]));
    await this.db.run(
      `UPDATE vendor_links SET ${fields.map((field) => `${CHANGE_COLUMN[field]} = :${field}`).join(", ")} WHERE target = :target AND scim_id = :scimId`,
      {
        ...values,
        target,
        scimId,
      },
    );
  }

  async markDeleted(target: string, scimId: string): Promise<void> {
    await this.db.run("UPDATE vendor_links SET deleted_at = :now WHERE target = :target AND scim_id = :scimId", {
      now: new Date().toISOString(),
      target,
      scimId,
    });
  }

  async of(target: string, scimIds: string[]): Promise<Map<string, VendorLink>> {
    if (scimIds.length === 0) return new Map();
    const { condition, params } = oneOf(this.db.dialect, "scim_id", "scimIds", scimIds);
    const rows = await this.db.rows<LinkRow>(`SELECT * FROM vendor_links WHERE target = :target AND ${condition}`, { target, ...params });
    return new Map(rows.map((r) => [r.scim_id, toLink(r)]));
  }

  async holding(targets: string[], vendorKey: string): Promise<VendorLink[]> {
    return (await this.db.rows<LinkRow>(this.holdingSql, { targets, vendorKey })).map(toLink);
  }

  async all(target: string): Promise<VendorLink[]> {
    return (await this.db.rows<LinkRow>("SELECT * FROM vendor_links WHERE target = :target ORDER BY created_at", { target })).map(toLink);
  }

  async groupLinkOf(target: string, scimGroupId: string): Promise<VendorGroupLink | undefined> {
    const row = await this.db.row<{ vendor_group_id: string; created_by_bridge: number | boolean }>(
      "SELECT vendor_group_id, created_by_bridge FROM vendor_group_links WHERE target = :target AND scim_id = :scimId",
      { target, scimId: scimGroupId },
    );
    // SQLite keeps the flag as 1 or 0, PostgreSQL as a boolean.
    return row ? { target, scimId: scimGroupId, vendorGroupId: row.vendor_group_id, createdByBridge: Boolean(row.created_by_bridge) } : undefined;
  }

  async groupLinksTo(target: string, vendorGroupId: string): Promise<VendorGroupLink[]> {
    const rows = await this.db.rows<{ scim_id: string; created_by_bridge: number | boolean }>(
      "SELECT scim_id, created_by_bridge FROM vendor_group_links WHERE target = :target AND vendor_group_id = :vendorGroupId",
      { target, vendorGroupId },
    );
    return rows.map((r) => ({ target, scimId: r.scim_id, vendorGroupId, createdByBridge: Boolean(r.created_by_bridge) }));
  }

  async recordGroupLink(link: VendorGroupLink): Promise<void> {
    await this.db.run(
      `INSERT INTO vendor_group_links (target, scim_id, vendor_group_id, created_by_bridge, created_at) VALUES (:target, :scimId, :vendorGroupId, :createdByBridge, :now)
       ON CONFLICT (target, scim_id) DO UPDATE SET vendor_group_id = excluded.vendor_group_id, created_by_bridge = excluded.created_by_bridge`,
      { ...link, now: new Date().toISOString() },
    );
  }

  async removeGroupLink(target: string, scimGroupId: string): Promise<void> {
    await this.db.run("DELETE FROM vendor_group_links WHERE target = :target AND scim_id = :scimId", { target, scimId: scimGroupId });
  }
}

/**
 * Drift between the bridge's records and the vendor: status drift first (inactive in the bridge, able to
 * sign in at the vendor), then users missing at the vendor, then vendor users the bridge created or adopted
 * but no longer knows, then field differences. With fix, the bridge repairs what it owns, status first,
 * and never touches a vendor user it did not create or adopt.
 */
import { randomUUID } from "node:crypto";
import type { Stores } from "../store/stores";
import type { StoredResource, VendorLink } from "../store/types";
import type { VendorProvisioner } from "./vendor-provisioner";

export type DriftKind = "status" | "missing" | "orphan" | "unlinked" | "fields";

export interface Drift {
  kind: DriftKind;
  scimId: string;
  userName: string;
  vendorKey: string;
  detail: string;
  /** What --fix does; `none` for what only a person can decide (a vendor user no SCIM user links). */
  repair: "deactivate" | "enable" | "remove" | "recreate" | "update" | "none";
  fixed?: boolean;
  fixError?: string;
}

const ORDER: DriftKind[] = ["status", "missing", "orphan", "unlinked", "fields"];

export interface ReconcileReport {
  target: string;
  vendor: string;
  vendorUsers: number;
  linked: number;
  drifts: Drift[];
}

/** Whether a link's user changed (or its vendor user was created or its SCIM user deleted) since `since`. */
function touchedSince(link: VendorLink, scim: StoredResource | undefined, since: number): boolean {
  const times = [link.createdAt, link.deletedAt, scim?.lastModified].filter((t): t is string => !!t).map((t) => Date.parse(t));
  return times.some((t) => t >= since);
}

/** `since` (ms): only users changed since then, for a quick look after an incident; without it, all. */
export async function reconcile(
  target: string,
  provisioner: VendorProvisioner,
  stores: Pick<Stores, "links" | "resources">,
  options: { fix: boolean; since?: number },
): Promise<ReconcileReport> {
  const context = { target, requestId: `reconcile-${randomUUID()}` };
  const vendorUsers = await provisioner.listVendorUsers(context);
  const links = await stores.links.all(target);
  const drifts: (Drift & { link?: VendorLink; user: Record<string, unknown> })[] = [];
  for (const link of links) {
    const record = vendorUsers.get(link.vendorKey);
    const scim = link.deletedAt ? undefined : await stores.resources.get(target, "User", link.scimId);
    if (options.since !== undefined && !touchedSince(link, scim, options.since)) continue;
    const base = { scimId: link.scimId, userName: link.userName, vendorKey: link.vendorKey, link, user: scim?.doc ?? {} };
    if (!scim) {
      if (record)
        drifts.push({
          ...base,
          kind: "orphan",
          repair: "remove",
          detail: `the bridge ${link.link} this vendor user; its SCIM user is gone, the vendor user is not`,
        });
      continue;
    }
    const active = scim.doc.active !== false;
    const policy = provisioner.deactivationPolicy;
    if (!active) {
      if (policy === "disable" && record && !provisioner.vendorDisabled(record))
        drifts.push({ ...base, kind: "status", repair: "deactivate", detail: "inactive in the bridge, enabled at the vendor" });
      if (policy === "delete" && record)
        drifts.push({ ...base, kind: "status", repair: "deactivate", detail: "inactive in the bridge, still present at the vendor" });
      continue;
    }
    if (!record) {
      drifts.push({ ...base, kind: "missing", repair: "recreate", detail: "active in the bridge, missing at the vendor" });
      continue;
    }
    if (policy === "disable" && provisioner.vendorDisabled(record))
      drifts.push({ ...base, kind: "status", repair: "enable", detail: "active in the bridge, disabled at the vendor" });
    const fields = provisioner.fieldDrift(link, record);
    if (fields.length > 0)
      drifts.push({
        ...base,
        kind: "fields",
        repair: "update",
        detail: fields.map((f) => `${f.field}: vendor '${String(f.vendor ?? "")}', bridge '${String(f.bridge)}'`).join("; "),
      });
  }
  for (const found of await provisioner.unlinkedCreations(vendorUsers)) {
    if (options.since !== undefined && Date.parse(found.at) < options.since) continue;
    const how =
      found.outcome === "success" ? "created" : `may have created (its answer was ${found.outcome === "deadline" ? "cut off by the deadline" : "lost"})`;
    drifts.push({
      kind: "unlinked",
      scimId: found.scimId ?? "",
      userName: found.name ?? "",
      vendorKey: found.vendorKey,
      repair: "none",
      detail: `the bridge ${how} this vendor user (request ${found.requestId}, ${found.at}), and no SCIM user links it: link it by re-sending the user from the IdP, or remove it at the vendor`,
      user: {},
    });
  }
  drifts.sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || Number(b.repair === "deactivate") - Number(a.repair === "deactivate"));
  if (options.fix) {
    for (const drift of drifts) {
      if (drift.repair === "none" || !drift.link) continue;
      try {
        await provisioner.repair(drift.repair, drift.link, drift.user, context);
        drift.fixed = true;
      } catch (error) {
        drift.fixed = false;
        drift.fixError = (error as Error).message;
      }
    }
  }
  return {
    target,
    vendor: provisioner.vendor,
    vendorUsers: vendorUsers.size,
    linked: links.length,
    drifts: drifts.map(({ link, user, ...d }) => (void link, void user, d)),
  };
}

export function formatReport(report: ReconcileReport): string[] {
  const lines = [
    `${report.target} (${report.vendor}): ${report.vendorUsers} vendor users, ${report.linked} linked by the bridge, ${report.drifts.length} drifts`,
  ];
  for (const d of report.drifts) {
    const fix = d.fixed === undefined ? "" : d.fixed ? `  → fixed (${d.repair})` : `  → NOT fixed: ${d.fixError}`;
    lines.push(`  ${d.kind.padEnd(7)} ${d.userName} [${d.vendorKey}]: ${d.detail}${fix}`);
  }
  return lines;
}

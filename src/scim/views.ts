/** How stored resources look over SCIM: the document plus id, meta, and derived attributes (groups, members). */
import type { Member, StoredResource, VendorLink, WorkItem } from "../store/types";
import { viewOf, type ProvisioningView } from "../provisioning/outbox";
import { VENDOR_LINK } from "../scim-model/vendor-extension";
import type { ScimContext } from "./context";

export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** Parses W/"12" (or "12") back to 12; undefined for anything else. */
export function versionOfEtag(etag: string): number | undefined {
  const match = /^(?:W\/)?"(\d+)"$/.exec(etag.trim());
  return match ? Number(match[1]) : undefined;
}

export function baseView(r: StoredResource): Record<string, unknown> {
  return {
    ...r.doc,
    id: r.id,
    meta: { resourceType: r.kind, created: r.created, lastModified: r.lastModified, version: etagOf(r.version) },
  };
}

/** A pending or failed change's details, as the vendor extension's flat attributes. */
function provisioningAttributes(view: ProvisioningView): Record<string, unknown> {
  const named: [string, unknown][] = [
    ["provisioningReason", view.reason],
    ["provisioningAttempts", view.attempts],
    ["provisioningNextAttempt", view.nextAttempt],
    ["provisioningVendorCode", view.vendorCode],
    ["provisioningVendorRequestId", view.vendorRequestId],
    ["provisioningRemedy", view.remedy],
  ];
  return Object.fromEntries(named.filter(([, v]) => v !== undefined));
}

export async function userViews(resources: StoredResource[], ctx: ScimContext): Promise<Record<string, unknown>[]> {
  const ids = resources.map((r) => r.id);
  const groups = await ctx.stores.members.groupsOf(ctx.target.name, ids);
  const links = ctx.target.vendor ? await ctx.stores.links.of(ctx.target.name, ids) : new Map<string, VendorLink>();
  const work = ctx.delivery ? await ctx.stores.outbox.workOf(ctx.target.name, ids) : new Map<string, WorkItem>();
  return resources.map((r) => {
    const memberships = groups.get(r.id) ?? [];
    const view = baseView(r);
    const link = links.get(r.id);
    const item = work.get(r.id);
    const delivery = item ? viewOf(item) : undefined;
    if (link || delivery)
      view[VENDOR_LINK] = {
        ...(link ? { vendor: link.vendor, vendorUserId: link.vendorKey, link: link.link } : {}),
        ...(delivery ? { provisioning: delivery.state } : {}),
        ...(delivery ? provisioningAttributes(delivery) : {}),
      };
    if (memberships.length > 0)
      view.groups = memberships.map((g) => ({ value: g.id, display: g.displayName, $ref: `${ctx.request.baseUrl}/Groups/${g.id}`, type: "direct" }));
    return view;
  });
}

export function memberView(m: Member, baseUrl: string): Record<string, unknown> {
  return {
    value: m.value,
    ...(m.display !== undefined ? { display: m.display } : {}),
    ...(m.type ? { type: m.type, $ref: `${baseUrl}/${m.type}s/${m.value}` } : {}),
  };
}

export async function groupViews(resources: StoredResource[], ctx: ScimContext): Promise<Record<string, unknown>[]> {
  const views: Record<string, unknown>[] = [];
  for (const r of resources) {
    const view = baseView(r);
    if (ctx.scratch.wantMembers) {
      const members = (await ctx.stores.members.of(ctx.target.name, r.id)).map((m) => memberView(m, ctx.request.baseUrl));
      if (members.length > 0) view.members = members;
    }
    views.push(view);
  }
  return views;
}

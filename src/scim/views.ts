/** How stored resources look over SCIM: the document plus id, meta, and derived attributes (groups, members). */
import type { Member, ResourceKind, StoredResource, VendorLink, WorkItem } from "../store/types";
import type { GroupRef } from "../store/members/port";
import { viewOf, type ProvisioningView } from "../provisioning/outbox";
import { VENDOR_LINK } from "../scim-model/vendor-extension";
import type { ScimContext } from "./context";
import { notFound } from "./documents";
import { yieldToOthers } from "../store/resources/scan";
import type { Json } from "../lib/json";

/** Members past which a group's view gives the event loop back before it is rendered. */
const LARGE_GROUP = 1_000;

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

/** The groups of these users, as a user's view lists them. */
export type UserGroups = Map<string, GroupRef[]>;

/** Users as SCIM shows them; `groups`, when the caller has just read them, spares reading them again. */
export async function userViews(resources: StoredResource[], ctx: ScimContext, groups?: UserGroups): Promise<Record<string, unknown>[]> {
  const ids = resources.map((r) => r.id);
  groups ??= await ctx.stores.members.groupsOf(ctx.target.name, ids);
  const links = ctx.target.vendor ? await ctx.stores.links.of(ctx.target.name, ids) : new Map<string, VendorLink>();
  const work = ctx.delivery ? await ctx.stores.outbox.workOf(ctx.target.name, ids) : new Map<string, WorkItem>();
  return resources.map((r) => userView(r, ctx.request.baseUrl, groups.get(r.id) ?? [], links.get(r.id), work.get(r.id)));
}

/** One user as SCIM shows it: its document, its groups, and (on a vendor target) its vendor user and pending work. */
export function userView(r: StoredResource, baseUrl: string, memberships: GroupRef[], link?: VendorLink, item?: WorkItem): Record<string, unknown> {
  const view = baseView(r);
  const delivery = item ? viewOf(item) : undefined;
  if (link || delivery)
    view[VENDOR_LINK] = {
      ...(link ? { vendor: link.vendor, vendorUserId: link.vendorKey, link: link.link } : {}),
      ...(delivery ? { provisioning: delivery.state } : {}),
      ...(delivery ? provisioningAttributes(delivery) : {}),
    };
  if (memberships.length > 0)
    view.groups = memberships.map((g) => ({ value: g.id, display: g.displayName, $ref: `${baseUrl}/Groups/${g.id}`, type: "direct" }));
  return view;
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
      const rows = await ctx.stores.members.of(ctx.target.name, r.id);
      // A large group's rows took a while to read, and its answer takes a while to render: others go in between.
      if (rows.length > LARGE_GROUP) await yieldToOthers();
      const members = rows.map((m) => memberView(m, ctx.request.baseUrl));
      if (members.length > 0) view.members = members;
    }
    views.push(view);
  }
  return views;
}

/** A page of a list read: the store cuts it (filter, order, page) and counts what matched. */
export async function listViews(kind: ResourceKind, ctx: ScimContext): Promise<{ views: Json[]; total: number }> {
  const list = ctx.request.list ?? { startIndex: 1, count: 100 };
  const page = await ctx.stores.resources.list(ctx.target.name, kind, {
    lookups: list.lookups,
    predicate: list.filter,
    filter: list.expression,
    budget: ctx.target.filterBudget,
    sort: list.sort,
    startIndex: list.startIndex,
    count: list.count,
  });
  return { views: await viewsOf(kind, page.resources, ctx), total: page.total };
}

/** One resource as stored, with its derived attributes; 404 when the target has no such resource. */
export async function readView(kind: ResourceKind, id: string, ctx: ScimContext): Promise<{ view: Json; version: number }> {
  const found = await ctx.stores.resources.get(ctx.target.name, kind, id);
  if (!found) throw notFound(kind, id);
  return { view: (await viewsOf(kind, [found], ctx))[0]!, version: found.version };
}

function viewsOf(kind: ResourceKind, resources: StoredResource[], ctx: ScimContext): Promise<Json[]> {
  return kind === "User" ? userViews(resources, ctx) : groupViews(resources, ctx);
}

/**
 * A group's changes: handed to the target's provisioner first (a change the vendor refuses is not
 * recorded), then stored; members as differences, each recorded as the vendor acknowledges it.
 */
import { randomUUID } from "node:crypto";
import type { Member, ScimDocument, StoredResource, WorkOrder } from "../store/types";
import type { Delivery } from "../provisioning/targets";
import type { ScimContext } from "./context";
import { ScimError } from "./errors";
import { documentOf, groupKeys, notFound, requireVersion, storeError } from "./documents";
import { groupViews } from "./views";
import { yieldToOthers } from "../store/resources/scan";
import type { Json } from "../lib/json";

/** Whether a group's change touches what its vendor group is found by (its name, its externalId). */
export function renames(before: ScimDocument, after: ScimDocument): boolean {
  return before.displayName !== after.displayName || before.externalId !== after.externalId;
}

/** The members a group body lists, each once. */
export function listedMembers(instance: unknown): Member[] {
  const members = (instance as { members?: { value?: unknown; display?: unknown }[] }).members ?? [];
  const seen = new Set<string>();
  const out: Member[] = [];
  for (const m of members) {
    if (typeof m.value !== "string" || seen.has(m.value)) continue;
    seen.add(m.value);
    out.push({ value: m.value, ...(typeof m.display === "string" ? { display: m.display } : {}) });
  }
  return out;
}

/** At most five ids named, and how many more. */
function someOf(ids: string[]): string {
  const named = ids
    .slice(0, 5)
    .map((v) => `'${v}'`)
    .join(", ");
  return ids.length > 5 ? `${named} and ${ids.length - 5} more` : named;
}

/**
 * On a vendor target a member is a user or group of the same target: an id from anywhere else (another
 * target's user, a typo) is refused rather than stored, so no membership reaches across targets or turns
 * into a vendor call for someone else. A store-only target (IdP setup tests, conformance suites that add
 * made-up ids) keeps RFC 7644's leniency: its members are opaque references that reach no vendor.
 */
async function requireMembersOfTarget(ctx: ScimContext, groupId: string | undefined, added: Member[]): Promise<void> {
  if (added.length === 0 || !ctx.target.vendor) return;
  const kinds = await ctx.stores.resources.kindsOf(
    ctx.target.name,
    added.map((m) => m.value),
  );
  const unknown = added.filter((m) => !kinds.has(m.value)).map((m) => m.value);
  if (unknown.length > 0)
    throw new ScimError(
      400,
      "invalidValue",
      `members: ${someOf(unknown)} ${unknown.length === 1 ? "is not a user or group" : "are not users or groups"} of this target; add members by the id the bridge gave them.`,
    );
  if (added.some((m) => m.value === groupId)) throw new ScimError(400, "invalidValue", "members: a group cannot be a member of itself.");
}

/** Who joins and who leaves when a group's members become `wanted` (each once, as listed). */
function difference(current: Member[], wanted: Member[]): { added: Member[]; removed: string[] } {
  const currentIds = new Set(current.map((m) => m.value));
  const wantedIds = new Set(wanted.map((m) => m.value));
  return { added: wanted.filter((m) => !currentIds.has(m.value)), removed: current.filter((m) => !wantedIds.has(m.value)).map((m) => m.value) };
}

/** Applies a new member list as a difference, so unchanged members are not rewritten. */
export async function syncMembers(ctx: ScimContext, groupId: string, wanted: Member[]): Promise<void> {
  const { added, removed } = difference(await ctx.stores.members.of(ctx.target.name, groupId), wanted);
  await changeMembers(ctx, groupId, added, removed);
}

/**
 * Members joining and leaving a group. A vendor that keeps a user's groups on the user: the change is
 * recorded with work for each user it touches, in one write (a removal is deprovisioning work), and the
 * outbox carries it out. Otherwise the provisioner has them first, and each member is recorded as soon as
 * it reports it applied, so a request the vendor deadline cuts off keeps what the vendor acknowledged, and
 * the IdP's retry (which only sends what is still missing) converges.
 */
export async function changeMembers(ctx: ScimContext, groupId: string, added: Member[], removed: string[]): Promise<void> {
  if (added.length === 0 && removed.length === 0) return;
  await requireMembersOfTarget(ctx, groupId, added);
  if (ctx.delivery && ctx.provisioner.groupsOnUsers) return recordMembership(ctx, ctx.delivery, groupId, added, removed);
  const target = ctx.target.name;
  const joining = new Map(added.map((m) => [m.value, m]));
  const leaving = new Set(removed);
  const record = async (addedIds: string[], removedIds: string[]) => {
    const joined = addedIds.flatMap((id) => (joining.has(id) ? [joining.get(id)!] : []));
    const left = removedIds.filter((id) => leaving.has(id));
    joined.forEach((m) => joining.delete(m.value));
    left.forEach((id) => leaving.delete(id));
    if (left.length > 0) await ctx.stores.members.remove(target, groupId, left);
    if (joined.length > 0) await ctx.stores.members.add(target, groupId, joined);
  };
  await ctx.provisioner.apply(
    { op: "members", groupId, added: [...joining.keys()], removed: [...leaving], applied: record },
    { target, requestId: ctx.request.requestId },
  );
  await record([...joining.keys()], [...leaving]);
}

/** A membership change recorded with its members' work (removals first: they take access away). */
async function recordMembership(ctx: ScimContext, delivery: Delivery, groupId: string, added: Member[], removed: string[]): Promise<void> {
  const target = ctx.target.name;
  if (removed.length > 0) await ctx.stores.members.remove(target, groupId, removed, { memberWork: delivery.order({ deprovision: true }) });
  if (added.length > 0) await ctx.stores.members.add(target, groupId, added, { memberWork: delivery.order({ deprovision: false }) });
  ctx.scratch.recordedMembers = [...(ctx.scratch.recordedMembers ?? []), ...removed, ...added.map((m) => m.value)];
}

/**
 * The work a group's change records for its user members on a vendor that keeps a user's groups on the
 * user (a rename may change the vendor group it maps to; a delete takes it away): none elsewhere.
 */
export function memberWorkOf(ctx: ScimContext): WorkOrder | undefined {
  return ctx.delivery && ctx.provisioner.groupsOnUsers ? ctx.delivery.order({ deprovision: true }) : undefined;
}

/**
 * The document of an existing group replaced, at the version If-Match names (or the one the PATCH read).
 * A rename reaches the vendor (or is refused) before it is recorded.
 */
async function replaceDocument(ctx: ScimContext, id: string, doc: ScimDocument): Promise<void> {
  const before = await ctx.stores.resources.get(ctx.target.name, "Group", id);
  if (!before) throw notFound("Group", id);
  requireVersion(before, ctx);
  await ctx.provisioner.apply({ op: "replace", kind: "Group", id, before, after: doc }, { target: ctx.target.name, requestId: ctx.request.requestId });
  await ctx.stores.resources.replace(ctx.target.name, "Group", id, doc, groupKeys(doc), {
    expectedVersion: ctx.request.expectedVersion ?? ctx.scratch.readVersion,
    memberWork: renames(before.doc, doc) ? memberWorkOf(ctx) : undefined,
  });
}

/** The group's view as stored now, with its members when `wantMembers`. */
async function viewNow(ctx: ScimContext, id: string, wantMembers: boolean): Promise<Json> {
  const stored = await ctx.stores.resources.get(ctx.target.name, "Group", id);
  return (await groupViews([stored!], { ...ctx, scratch: { ...ctx.scratch, wantMembers } }))[0]!;
}

/** A POST (no id) or PUT of a group; answers the stored view with its members. */
export async function writeGroup(ctx: ScimContext, id: string | undefined, instance: unknown): Promise<Json> {
  const doc = documentOf(instance);
  const members = listedMembers(instance);
  const change = { target: ctx.target.name, requestId: ctx.request.requestId };
  try {
    // Members are checked before anything is written: a refused body leaves no group behind, here or at the vendor.
    await requireMembersOfTarget(ctx, id, members);
    if (id) {
      await replaceDocument(ctx, id, doc);
    } else {
      id = randomUUID();
      await ctx.provisioner.apply({ op: "create", kind: "Group", id, after: doc }, change);
      await ctx.stores.resources.create(ctx.target.name, "Group", id, doc, groupKeys(doc));
    }
    await syncMembers(ctx, id, members);
    return await viewNow(ctx, id, true);
  } catch (error) {
    return storeError(error, "Group", doc, ctx);
  }
}

/**
 * A PATCH of a group written: its document, then (when the PATCH touched them) its members as the
 * difference between those read (`current`, under the group's lock) and the list the operations left.
 * Answers the view the request asked for.
 */
export async function writePatchedGroup(ctx: ScimContext, id: string, instance: unknown, members?: { current: Member[]; wanted: Json[] }): Promise<Json> {
  const doc = documentOf(instance);
  try {
    await replaceDocument(ctx, id, doc);
    if (members) {
      const { added, removed } = difference(members.current, listedMembers({ members: members.wanted }));
      await changeMembers(ctx, id, added, removed);
      await yieldToOthers();
    }
    return await viewNow(ctx, id, ctx.scratch.wantMembers);
  } catch (error) {
    return storeError(error, "Group", doc, ctx);
  }
}

/** A DELETE of a group: the vendor's group first, then the store's. */
export async function removeGroup(ctx: ScimContext, before: StoredResource): Promise<void> {
  await ctx.provisioner.apply({ op: "delete", kind: "Group", id: before.id, before }, { target: ctx.target.name, requestId: ctx.request.requestId });
  await ctx.stores.resources.remove(ctx.target.name, "Group", before.id, { expectedVersion: ctx.request.expectedVersion, memberWork: memberWorkOf(ctx) });
}

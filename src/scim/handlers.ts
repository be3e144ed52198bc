/**
 * scimmy's ingress / egress / degress handlers for Users and Groups. scimmy validates and coerces; these turn
 * its calls into store reads and writes, and hand every change to the target's provisioner first.
 */
import { randomUUID } from "node:crypto";
import SCIMMY from "scimmy";
import {
  NotFoundError,
  StoreUnavailableError,
  UniquenessError,
  VersionMismatchError,
  type GroupKeys,
  type Member,
  type ResourceKind,
  type ScimDocument,
  type StoredResource,
  type UserKeys,
} from "../store/types";
import type { RecordedChange, ScimContext } from "./context";
import { ConcurrentChangeError, ScimError, staleVersion } from "./errors";
import { applyAttributePatch, planAttributePatch } from "./attribute-patch";
import { VendorRefusal } from "../provisioning/refusal";
import type { Delivery } from "../provisioning/targets";
import { GroupResource, resourceClass, UserResource } from "../scim-model/schema";
import { baseView, groupViews, userViews } from "./views";
import { VENDOR_LINK } from "../scim-model/vendor-extension";
import type { Json } from "../lib/json";

type ScimResource = { id?: string };

/** Attributes the bridge derives or assigns: never taken from a request, never stored in the document. */
const NOT_STORED = ["id", "meta", "groups", "members", "password", VENDOR_LINK];

export function documentOf(instance: unknown): ScimDocument {
  const doc = JSON.parse(JSON.stringify(instance)) as ScimDocument;
  for (const key of NOT_STORED) delete doc[key];
  return doc;
}

export function userKeys(doc: ScimDocument): UserKeys {
  const emails = Array.isArray(doc.emails) ? (doc.emails as unknown[]).filter((e): e is { value?: unknown } => !!e && typeof e === "object") : [];
  return {
    userName: String(doc.userName),
    externalId: typeof doc.externalId === "string" ? doc.externalId : undefined,
    displayName: typeof doc.displayName === "string" ? doc.displayName : undefined,
    emails: emails.map((e) => e.value).filter((v): v is string => typeof v === "string"),
  };
}

export function groupKeys(doc: ScimDocument): GroupKeys {
  return { displayName: String(doc.displayName), externalId: typeof doc.externalId === "string" ? doc.externalId : undefined };
}

/** Store failures as the SCIM errors an IdP understands. */
export function storeError(error: unknown, kind: ResourceKind, doc?: ScimDocument, ctx?: ScimContext): never {
  if (error instanceof VersionMismatchError && ctx && ctx.request.expectedVersion === undefined) throw new ConcurrentChangeError(kind);
  if (error instanceof UniquenessError) {
    const name = doc?.userName === undefined ? "" : ` '${String(doc.userName)}'`;
    throw new ScimError(409, "uniqueness", `userName${name} is already taken by another user of this target (userName is unique, ignoring case).`);
  }
  if (error instanceof NotFoundError) throw new ScimError(404, null, `${kind} ${error.id} not found.`);
  if (error instanceof VersionMismatchError) throw staleVersion(kind, error.current);
  throw error;
}

/**
 * 409 uniqueness for a userName the target already has, naming the holder: an IdP retrying a create whose
 * first answer it never got (Okta's and Entra's retries after a timeout) finds the user it made.
 */
function userNameTaken(userName: unknown, holder: string): ScimError {
  return new ScimError(
    409,
    "uniqueness",
    `userName '${String(userName)}' is already taken by user ${holder} of this target (userName is unique, ignoring case). If a retried create made it, that user is GET /Users/${holder}.`,
  );
}

function notFound(kind: ResourceKind, id: string): ScimError {
  return new ScimError(404, null, `${kind} ${id} not found.`);
}

/** If-Match is checked before the vendor is called: a stale version must not change the vendor and then answer 412. */
function requireVersion(before: StoredResource, ctx: ScimContext): void {
  if (ctx.request.expectedVersion !== undefined && before.version !== ctx.request.expectedVersion) throw new VersionMismatchError(before.version);
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

/** scimmy's words for a value with a sub-attribute its attribute does not have. */
const NOT_A_SUB_ATTRIBUTE = /^Cannot add property ([^,\s]{1,100}), object is not extensible(.*)$/;

/** A PatchOp refusal whose words are JavaScript's, said as what to send instead. */
function explainPatchRefusal(error: unknown): never {
  const message = error instanceof SCIMMY.Types.Error ? String(error.message) : "";
  const unknown = NOT_A_SUB_ATTRIBUTE.exec(message);
  if (unknown)
    throw new ScimError(
      400,
      "invalidValue",
      `'${unknown[1]}' is not a sub-attribute of the attribute this value is for${unknown[2]}; send only the sub-attributes /Schemas lists for it.`,
    );
  throw error;
}

/** Runs a schema check: scimmy's refusals (TypeErrors) are 400 invalidValue. */
function schemaChecked<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof TypeError) throw new SCIMMY.Types.Error(400, "invalidValue", error.message);
    throw error;
  }
}

/** A request body as the schema reads it: scimmy validates and coerces input. */
function validated(kind: ResourceKind, body: unknown): unknown {
  return schemaChecked(() => new (resourceClass(kind).schema)(body as never, "in"));
}

/** A POST (no id) or PUT: validated, stored, handed to the target's vendor; answers the stored view. */
export function writeResource(kind: ResourceKind, id: string | undefined, body: unknown, ctx: ScimContext): Promise<Json> {
  const instance = validated(kind, body);
  return kind === "User" ? writeUser({ id }, instance, ctx) : writeGroup({ id }, instance, ctx);
}

/**
 * A PatchOp applied to the resource as it is (read, checked against If-Match, patched by scimmy, written):
 * answers the view written, or undefined when the operations changed nothing.
 */
export async function patchResource(kind: ResourceKind, id: string, ctx: ScimContext, normalise: (current: Json) => Json): Promise<Json | undefined> {
  const { view, version } = await readView(kind, id, ctx);
  if (ctx.request.expectedVersion !== undefined && version !== ctx.request.expectedVersion) throw staleVersion(kind, version);
  ctx.scratch.readVersion = version;
  const message = normalise(view);
  const simple = planAttributePatch(kind, message.Operations);
  if (simple) {
    const { document, changed } = schemaChecked(() => applyAttributePatch(view, simple));
    const written = kind === "User" ? await writeUser({ id }, document, ctx) : await writeGroup({ id }, document, ctx);
    return changed ? written : undefined;
  }
  const before = new (resourceClass(kind).schema)(view as never, "out");
  // The result is validated as a request body would be (a PATCH of `schemas`, say, is checked there). An
  // unchanged resource is written too: a deactivation is re-sent to a user already held inactive.
  const patched: unknown = await new SCIMMY.Messages.PatchOp(message as never).apply(before as never).catch(explainPatchRefusal);
  const written = await writeResource(kind, id, patched ?? before, ctx);
  return patched ? written : undefined;
}

function membersOf(instance: unknown): Member[] {
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

/**
 * A user change on a vendor target, once recorded with its work: the request waits for the vendor up to the
 * target's answer window. A refusal of the change itself (a taken value, a value the vendor rejects) undoes
 * it (`undo`) and is answered; so is any delay under onVendorDelay: fail. Otherwise the change stands and
 * the view says whether the vendor has it yet. A deprovisioning is never undone.
 */
async function awaitVendor(ctx: ScimContext, delivery: Delivery, change: RecordedChange): Promise<void> {
  const outcome = await delivery.settle(change.id, { requestId: ctx.request.requestId, password: ctx.request.password });
  if (outcome.state === "applied" || change.deprovision || !change.undo) return;
  // Credentials the vendor refuses fail every change alike: the IdP is told (502), not that all is well.
  if (outcome.state === "pending" && !delivery.strict && outcome.refusal?.reason !== "credentials") return;
  await change.undo();
  const refusal = outcome.refusal ?? new VendorRefusal("timeout", "The vendor did not take the change in time.");
  const retry = refusal.retryable ? " Retrying is safe: a vendor user created meanwhile is found and adopted." : "";
  throw new VendorRefusal(refusal.reason, `${refusal.message} Nothing was kept.${retry}`, refusal.vendorCode, refusal.vendorRequestId, refusal.retryAfter);
}

/**
 * Waits for the user change this request recorded (if any), after the resource's lock is given back: the
 * answer is the vendor's (a refusal undoes the change and is thrown), or the change stands as pending.
 * Answers whether there was one (the resource is then read again for the answer).
 */
export async function awaitRecordedChange(ctx: ScimContext): Promise<boolean> {
  const change = ctx.scratch.recorded;
  if (!change || !ctx.delivery) return false;
  ctx.scratch.recorded = undefined;
  await awaitVendor(ctx, ctx.delivery, change);
  return true;
}

async function writeUser(resource: ScimResource, instance: unknown, ctx: ScimContext): Promise<Record<string, unknown>> {
  const doc = documentOf(instance);
  const { delivery } = ctx;
  const target = ctx.target.name;
  try {
    let stored: StoredResource;
    if (resource.id) {
      const before = await ctx.stores.resources.get(target, "User", resource.id);
      if (!before) throw notFound("User", resource.id);
      requireVersion(before, ctx);
      // A user is reactivated only by saying so: removing `active` (or a PUT without it) keeps an inactive user inactive.
      if ((doc.active === undefined || doc.active === null) && before.doc.active === false) doc.active = false;
      ctx.provisioner.checkUser?.(resource.id, doc, ctx.request.password);
      const deprovision = doc.active === false && (before.doc.active !== false || ctx.request.deactivates === true);
      const work = delivery?.order({ deprovision, resendStatus: ctx.request.deactivates, password: ctx.request.password !== undefined });
      stored = await ctx.stores.resources.replace(target, "User", resource.id, doc, userKeys(doc), {
        expectedVersion: ctx.request.expectedVersion ?? ctx.scratch.readVersion,
        work,
      });
      if (delivery) {
        const id = resource.id;
        // Undone: the document before, recorded with work that brings the vendor back to it — for an inactive
        // user, its status call sent again (a reactivation may have landed although its answer did not).
        const inactive = before.doc.active === false;
        const version = stored.version;
        ctx.scratch.recorded = {
          id,
          deprovision,
          undo: async () =>
            void (await ctx.stores.resources.replace(target, "User", id, before.doc, userKeys(before.doc), {
              expectedVersion: version,
              work: delivery.order({ deprovision: inactive, resendStatus: inactive }),
            })),
        };
      }
    } else {
      // Refuse a taken userName, or a user the mapping cannot provision, before anything is recorded.
      const taken = await ctx.stores.resources.list(target, "User", {
        lookups: [{ attribute: "userName", value: String(doc.userName) }],
        startIndex: 1,
        count: 1,
      });
      if (taken.total > 0) throw userNameTaken(doc.userName, taken.resources[0]!.id);
      const id = randomUUID();
      ctx.provisioner.checkUser?.(id, doc, ctx.request.password);
      stored = await ctx.stores.resources.create(
        target,
        "User",
        id,
        doc,
        userKeys(doc),
        delivery?.order({ deprovision: false, password: ctx.request.password !== undefined }),
      );
      if (delivery)
        ctx.scratch.recorded = {
          id,
          deprovision: false,
          undo: () => ctx.stores.resources.remove(target, "User", id, { work: delivery.order({ deprovision: true, removedDoc: doc }) }),
        };
    }
    // Recorded: a store that fails while the answer is read back does not turn that into an error.
    return await userViews([stored], ctx).then(
      (views) => views[0]!,
      (error: unknown) => (error instanceof StoreUnavailableError ? baseView(stored) : Promise.reject(error)),
    );
  } catch (error) {
    return storeError(error, "User", doc, ctx);
  }
}

/**
 * On a vendor target a member is a user or group of the same target: an id from anywhere else (another
 * target's user, a typo) is refused rather than stored, so no membership reaches across targets or turns
 * into a vendor call for someone else. A store-only target (IdP setup tests, conformance suites that add
 * made-up ids) keeps RFC 7644's leniency: its members are opaque references that reach no vendor.
 */
async function requireMembersOfTarget(ctx: ScimContext, groupId: string, added: Member[]): Promise<void> {
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
      `members: ${unknown
        .slice(0, 5)
        .map((v) => `'${v}'`)
        .join(
          ", ",
        )}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ""} ${unknown.length === 1 ? "is not a user or group" : "are not users or groups"} of this target; add members by the id the bridge gave them.`,
    );
  if (added.some((m) => m.value === groupId)) throw new ScimError(400, "invalidValue", "members: a group cannot be a member of itself.");
}

/**
 * Deactivates a user on its own: the deprovisioning a refused request asked for (a PATCH whose other
 * operations are invalid, a PUT with a broken field, a stale If-Match) still happens, at the vendor first.
 * Nothing else of the request is applied. Answers whether anything changed.
 */
export async function deactivateUser(ctx: ScimContext, id: string): Promise<boolean> {
  const before = await ctx.stores.resources.get(ctx.target.name, "User", id);
  if (!before || !ctx.delivery) return false;
  // Even a user already inactive here goes through: its vendor user may still be enabled (a failed step).
  const after = { ...before.doc, active: false };
  try {
    await ctx.stores.resources.replace(ctx.target.name, "User", id, after, userKeys(after), {
      work: ctx.delivery.order({ deprovision: true, resendStatus: true }),
    });
    ctx.scratch.recorded = { id, deprovision: true };
  } catch (error) {
    return storeError(error, "User", after);
  }
  ctx.log.warn("deactivated although the rest of the request was refused", { target: ctx.target.name, scimId: id, requestId: ctx.request.requestId });
  return true;
}

/** Applies a new member list as a difference, so unchanged members are not rewritten. */
export async function syncMembers(ctx: ScimContext, groupId: string, wanted: Member[]): Promise<void> {
  const current = await ctx.stores.members.of(ctx.target.name, groupId);
  const currentIds = new Set(current.map((m) => m.value));
  const wantedIds = new Set(wanted.map((m) => m.value));
  const added = wanted.filter((m) => !currentIds.has(m.value));
  const removed = current.filter((m) => !wantedIds.has(m.value)).map((m) => m.value);
  await changeMembers(ctx, groupId, added, removed);
}

/**
 * Hands members joining and leaving a group to the provisioner, and records them. Each member is recorded
 * as soon as the provisioner reports it applied, so a request the vendor deadline cuts off keeps what the
 * vendor acknowledged, and the IdP's retry (which only sends what is still missing) converges.
 */
export async function changeMembers(ctx: ScimContext, groupId: string, added: Member[], removed: string[]): Promise<void> {
  if (added.length === 0 && removed.length === 0) return;
  const target = ctx.target.name;
  await requireMembersOfTarget(ctx, groupId, added);
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

async function writeGroup(resource: ScimResource, instance: unknown, ctx: ScimContext): Promise<Record<string, unknown>> {
  const doc = documentOf(instance);
  const members = membersOf(instance);
  const change = { target: ctx.target.name, requestId: ctx.request.requestId };
  try {
    let id = resource.id;
    if (id) {
      const before = await ctx.stores.resources.get(ctx.target.name, "Group", id);
      if (!before) throw notFound("Group", id);
      requireVersion(before, ctx);
      await ctx.stores.resources.replace(ctx.target.name, "Group", id, doc, groupKeys(doc), {
        expectedVersion: ctx.request.expectedVersion ?? ctx.scratch.readVersion,
      });
    } else {
      id = randomUUID();
      await ctx.provisioner.apply({ op: "create", kind: "Group", id, after: doc }, change);
      await ctx.stores.resources.create(ctx.target.name, "Group", id, doc, groupKeys(doc));
    }
    await syncMembers(ctx, id, members);
    const stored = await ctx.stores.resources.get(ctx.target.name, "Group", id);
    return (await groupViews([stored!], { ...ctx, scratch: { ...ctx.scratch, wantMembers: true } }))[0]!;
  } catch (error) {
    return storeError(error, "Group", doc, ctx);
  }
}

/**
 * A deleted user as its removal work keeps it: the document, and the groups it was in (gone from the store
 * with it), for a vendor that refuses to delete a group member until it has left its groups.
 */
async function removedUser(ctx: ScimContext, before: StoredResource): Promise<ScimDocument> {
  const groups = (await ctx.stores.members.groupsOf(ctx.target.name, [before.id])).get(before.id) ?? [];
  return groups.length === 0 ? before.doc : { ...before.doc, groups: groups.map((g) => ({ value: g.id, display: g.displayName })) };
}

/** A DELETE: checked against If-Match, then removed; a user's vendor user is removed through the outbox. */
export async function disposeResource(kind: ResourceKind, id: string, ctx: ScimContext): Promise<void> {
  try {
    const before = await ctx.stores.resources.get(ctx.target.name, kind, id);
    if (!before) throw notFound(kind, id);
    requireVersion(before, ctx);
    if (kind === "Group") await ctx.provisioner.apply({ op: "delete", kind, id, before }, { target: ctx.target.name, requestId: ctx.request.requestId });
    // A user's vendor user is removed by the outbox: the delete is recorded with that work, then waited for.
    const work = kind === "User" && ctx.delivery ? ctx.delivery.order({ deprovision: true, removedDoc: await removedUser(ctx, before) }) : undefined;
    await ctx.stores.resources.remove(ctx.target.name, kind, id, { expectedVersion: ctx.request.expectedVersion, work });
    if (work) ctx.scratch.recorded = { id, deprovision: true };
  } catch (error) {
    storeError(error, kind);
  }
}

let declared = false;

/** Declares Users and Groups in scimmy's process-wide registry, once (discovery lists them from there). */
export function declareResources(): void {
  if (declared) return;
  declared = true;
  SCIMMY.Resources.declare(UserResource);
  SCIMMY.Resources.declare(GroupResource);
}

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
import { ConcurrentChangeError, describeError, ScimError, type ScimType } from "./errors";
import { VendorRefusal } from "../provisioning/refusal";
import type { Delivery } from "../provisioning/targets";
import { GroupResource, UserResource } from "./schema";
import { baseView, groupViews, userViews } from "./views";

type ScimResource = { id?: string; constraints?: Record<string, unknown> };

/** Attributes the bridge derives or assigns: never taken from a request, never stored in the document. */
const NOT_STORED = ["id", "meta", "groups", "members", "password"];

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
  if (error instanceof VersionMismatchError)
    throw new ScimError(412, null, `The ${kind} changed since the version you sent (it is now ${`W/"${error.current}"`}); read it again and retry.`);
  throw error;
}

function notFound(kind: ResourceKind, id: string): ScimError {
  return new ScimError(404, null, `${kind} ${id} not found.`);
}

/** If-Match is checked before the vendor is called: a stale version must not change the vendor and then answer 412. */
function requireVersion(before: StoredResource, ctx: ScimContext): void {
  if (ctx.request.expectedVersion !== undefined && before.version !== ctx.request.expectedVersion) throw new VersionMismatchError(before.version);
}

async function readList(resource: ScimResource, kind: ResourceKind, ctx: ScimContext): Promise<StoredResource[]> {
  const list = ctx.request.list ?? { startIndex: 1, count: 100 };
  const page = await ctx.store.list(ctx.target.name, kind, {
    lookups: list.lookups,
    predicate: list.filter,
    filter: list.expression,
    budget: ctx.target.filterBudget,
    sort: list.sort,
    startIndex: list.startIndex,
    count: list.count,
  });
  // The page is already cut; this makes scimmy's ListResponse keep it as it is (the router restores startIndex).
  resource.constraints = { startIndex: 1, count: page.resources.length, totalResults: page.total };
  return page.resources;
}

async function readOne(resource: ScimResource & { id: string }, kind: ResourceKind, ctx: ScimContext): Promise<StoredResource[]> {
  const found = await ctx.store.get(ctx.target.name, kind, resource.id);
  if (!found) throw notFound(kind, resource.id);
  ctx.scratch.readVersion = found.version;
  return [found];
}

async function read(resource: ScimResource, kind: ResourceKind, ctx: ScimContext): Promise<StoredResource[]> {
  return resource.id ? readOne(resource as ScimResource & { id: string }, kind, ctx) : readList(resource, kind, ctx);
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
      const before = await ctx.store.get(target, "User", resource.id);
      if (!before) throw notFound("User", resource.id);
      requireVersion(before, ctx);
      // A user is reactivated only by saying so: removing `active` (or a PUT without it) keeps an inactive user inactive.
      if ((doc.active === undefined || doc.active === null) && before.doc.active === false) doc.active = false;
      ctx.provisioner.checkUser?.(resource.id, doc, ctx.request.password);
      const deprovision = doc.active === false && (before.doc.active !== false || ctx.request.deactivates === true);
      const work = delivery?.order({ deprovision, resendStatus: ctx.request.deactivates, password: ctx.request.password !== undefined });
      stored = await ctx.store.replace(target, "User", resource.id, doc, userKeys(doc), ctx.request.expectedVersion ?? ctx.scratch.readVersion, work);
      if (delivery) {
        const id = resource.id;
        // Undone: the document before, recorded with work that brings the vendor back to it — for an inactive
        // user, its status call sent again (a reactivation may have landed although its answer did not).
        const inactive = before.doc.active === false;
        const version = stored.version;
        ctx.scratch.recorded = { id, deprovision, undo: async () => void (await ctx.store.replace(target, "User", id, before.doc, userKeys(before.doc), version, delivery.order({ deprovision: inactive, resendStatus: inactive }))) };
      }
    } else {
      // Refuse a taken userName, or a user the mapping cannot provision, before anything is recorded.
      const taken = await ctx.store.list(target, "User", { lookups: [{ attribute: "userName", value: String(doc.userName) }], startIndex: 1, count: 1 });
      if (taken.total > 0) throw new UniquenessError("userName");
      const id = randomUUID();
      ctx.provisioner.checkUser?.(id, doc, ctx.request.password);
      stored = await ctx.store.create(target, "User", id, doc, userKeys(doc), delivery?.order({ deprovision: false, password: ctx.request.password !== undefined }));
      if (delivery) ctx.scratch.recorded = { id, deprovision: false, undo: () => ctx.store.remove(target, "User", id, undefined, delivery.order({ deprovision: true, removedDoc: doc })) };
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
  const kinds = await ctx.store.kindsOf(ctx.target.name, added.map((m) => m.value));
  const unknown = added.filter((m) => !kinds.has(m.value)).map((m) => m.value);
  if (unknown.length > 0)
    throw new ScimError(400, "invalidValue", `members: ${unknown.slice(0, 5).map((v) => `'${v}'`).join(", ")}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ""} ${unknown.length === 1 ? "is not a user or group" : "are not users or groups"} of this target; add members by the id the bridge gave them.`);
  if (added.some((m) => m.value === groupId)) throw new ScimError(400, "invalidValue", "members: a group cannot be a member of itself.");
}

/**
 * Deactivates a user on its own: the deprovisioning a refused request asked for (a PATCH whose other
 * operations are invalid, a PUT with a broken field, a stale If-Match) still happens, at the vendor first.
 * Nothing else of the request is applied. Answers whether anything changed.
 */
export async function deactivateUser(ctx: ScimContext, id: string): Promise<boolean> {
  const before = await ctx.store.get(ctx.target.name, "User", id);
  if (!before || !ctx.delivery) return false;
  // Even a user already inactive here goes through: its vendor user may still be enabled (a failed step).
  const after = { ...before.doc, active: false };
  try {
    await ctx.store.replace(ctx.target.name, "User", id, after, userKeys(after), undefined, ctx.delivery.order({ deprovision: true, resendStatus: true }));
    ctx.scratch.recorded = { id, deprovision: true };
  } catch (error) {
    return storeError(error, "User", after);
  }
  ctx.log.warn("deactivated although the rest of the request was refused", { target: ctx.target.name, scimId: id, requestId: ctx.request.requestId });
  return true;
}

/** Applies a new member list as a difference, so unchanged members are not rewritten. */
export async function syncMembers(ctx: ScimContext, groupId: string, wanted: Member[]): Promise<void> {
  const current = await ctx.store.members(ctx.target.name, groupId);
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
    if (left.length > 0) await ctx.store.removeMembers(target, groupId, left);
    if (joined.length > 0) await ctx.store.addMembers(target, groupId, joined);
  };
  await ctx.provisioner.apply({ op: "members", groupId, added: [...joining.keys()], removed: [...leaving], applied: record }, { target, requestId: ctx.request.requestId });
  await record([...joining.keys()], [...leaving]);
}

async function writeGroup(resource: ScimResource, instance: unknown, ctx: ScimContext): Promise<Record<string, unknown>> {
  const doc = documentOf(instance);
  const members = membersOf(instance);
  const change = { target: ctx.target.name, requestId: ctx.request.requestId };
  try {
    let id = resource.id;
    if (id) {
      const before = await ctx.store.get(ctx.target.name, "Group", id);
      if (!before) throw notFound("Group", id);
      requireVersion(before, ctx);
      await ctx.store.replace(ctx.target.name, "Group", id, doc, groupKeys(doc), ctx.request.expectedVersion ?? ctx.scratch.readVersion);
    } else {
      id = randomUUID();
      await ctx.provisioner.apply({ op: "create", kind: "Group", id, after: doc }, change);
      await ctx.store.create(ctx.target.name, "Group", id, doc, groupKeys(doc));
    }
    await syncMembers(ctx, id, members);
    const stored = await ctx.store.get(ctx.target.name, "Group", id);
    return (await groupViews([stored!], { ...ctx, scratch: { ...ctx.scratch, wantMembers: true } }))[0]!;
  } catch (error) {
    return storeError(error, "Group", doc, ctx);
  }
}

async function dispose(resource: ScimResource, kind: ResourceKind, ctx: ScimContext): Promise<void> {
  const id = resource.id!;
  try {
    const before = await ctx.store.get(ctx.target.name, kind, id);
    if (!before) throw notFound(kind, id);
    requireVersion(before, ctx);
    if (kind === "Group") await ctx.provisioner.apply({ op: "delete", kind, id, before }, { target: ctx.target.name, requestId: ctx.request.requestId });
    // A user's vendor user is removed by the outbox: the delete is recorded with that work, then waited for.
    const work = kind === "User" ? ctx.delivery?.order({ deprovision: true, removedDoc: before.doc }) : undefined;
    await ctx.store.remove(ctx.target.name, kind, id, ctx.request.expectedVersion, work);
    if (work) ctx.scratch.recorded = { id, deprovision: true };
  } catch (error) {
    storeError(error, kind);
  }
}

/**
 * scimmy turns any error a handler throws that is not its own into 404 "not found": a store outage would tell
 * an IdP that its users are gone. Every handler runs through this guard, which turns unexpected errors into
 * the SCIM error they are (503 for a store that cannot be reached, else 500), logged once here.
 */
function guarded<T>(ctx: unknown, work: () => Promise<T>): Promise<T> {
  return work().catch((error: unknown) => {
    if (error instanceof SCIMMY.Types.Error) throw error;
    const { status, scimType, detail, retryAfter, unexpected } = describeError(error);
    const c = ctx as ScimContext;
    if (unexpected) c.log?.error("request failed", { requestId: c.request?.requestId, target: c.target?.name, error, stack: (error as Error)?.stack });
    throw new ScimError(status, (scimType as ScimType | undefined) ?? null, detail, retryAfter);
  });
}

let declared = false;

/** Declares Users and Groups in scimmy's process-wide registry, once. */
export function declareResources(): void {
  if (declared) return;
  declared = true;
  // scimmy types handler results as its own resource shapes; the views are those shapes as plain objects.
  SCIMMY.Resources.declare(
    UserResource.ingress((resource, instance, ctx) => guarded(ctx, () => writeUser(resource as ScimResource, instance, ctx as ScimContext)) as never)
      .egress((resource, ctx) => guarded(ctx, async () => userViews(await read(resource as ScimResource, "User", ctx as ScimContext), ctx as ScimContext)) as never)
      .degress((resource, ctx) => guarded(ctx, () => dispose(resource as ScimResource, "User", ctx as ScimContext))),
  );
  SCIMMY.Resources.declare(
    GroupResource.ingress((resource, instance, ctx) => guarded(ctx, () => writeGroup(resource as ScimResource, instance, ctx as ScimContext)) as never)
      .egress((resource, ctx) => guarded(ctx, async () => groupViews(await read(resource as ScimResource, "Group", ctx as ScimContext), ctx as ScimContext)) as never)
      .degress((resource, ctx) => guarded(ctx, () => dispose(resource as ScimResource, "Group", ctx as ScimContext))),
  );
}

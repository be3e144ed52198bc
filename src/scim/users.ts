/**
 * A user's changes: each recorded with the vendor work it needs (the outbox row) in one write, then waited
 * for up to the target's answer window — a refusal of the change itself undoes it, a deprovisioning never is.
 */
import { randomUUID } from "node:crypto";
import type { ScimDocument, StoredResource } from "../store/types";
import type { RecordedChange, ScimContext } from "./context";
import { ScimError } from "./errors";
import { documentOf, notFound, requireVersion, storeError, userKeys } from "./documents";
import { VendorRefusal } from "../provisioning/refusal";
import type { Delivery } from "../provisioning/targets";

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
 * Then for the users a membership change touched, within one answer window (never undone).
 */
export async function awaitRecordedChange(ctx: ScimContext): Promise<void> {
  const { recorded, recordedMembers } = ctx.scratch;
  ctx.scratch.recorded = undefined;
  ctx.scratch.recordedMembers = undefined;
  if (!ctx.delivery) return;
  if (recorded) await awaitVendor(ctx, ctx.delivery, recorded);
  if (recordedMembers) await ctx.delivery.settleAll(recordedMembers, { requestId: ctx.request.requestId });
}

/** A POST (no id) or PUT / PATCH of a user, recorded with its vendor work; `before` is the user as the caller read it. */
export async function writeUser(ctx: ScimContext, id: string | undefined, instance: unknown, before?: StoredResource): Promise<StoredResource> {
  const doc = documentOf(instance);
  try {
    if (id === undefined) return await createUser(ctx, doc);
    before ??= await ctx.stores.resources.get(ctx.target.name, "User", id);
    if (!before) throw notFound("User", id);
    return await replaceUser(ctx, before, doc);
  } catch (error) {
    return storeError(error, "User", doc, ctx);
  }
}

async function replaceUser(ctx: ScimContext, before: StoredResource, doc: ScimDocument): Promise<StoredResource> {
  const { delivery } = ctx;
  const target = ctx.target.name;
  const id = before.id;
  requireVersion(before, ctx);
  // A user is reactivated only by saying so: removing `active` (or a PUT without it) keeps an inactive user inactive.
  if ((doc.active === undefined || doc.active === null) && before.doc.active === false) doc.active = false;
  ctx.provisioner.checkUser?.(id, doc, ctx.request.password);
  const deprovision = doc.active === false && (before.doc.active !== false || ctx.request.deactivates === true);
  const work = delivery?.order({ deprovision, resendStatus: ctx.request.deactivates, password: ctx.request.password !== undefined });
  const stored = await ctx.stores.resources.replace(target, "User", id, doc, userKeys(doc), {
    expectedVersion: ctx.request.expectedVersion ?? ctx.scratch.readVersion,
    work,
  });
  if (delivery) {
    // Undone: the document before, recorded with work that brings the vendor back to it — for an inactive
    // user, its status call sent again (a reactivation may have landed although its answer did not).
    const inactive = before.doc.active === false;
    ctx.scratch.recorded = {
      id,
      deprovision,
      undo: async () =>
        void (await ctx.stores.resources.replace(target, "User", id, before.doc, userKeys(before.doc), {
          expectedVersion: stored.version,
          work: delivery.order({ deprovision: inactive, resendStatus: inactive }),
        })),
    };
  }
  return stored;
}

async function createUser(ctx: ScimContext, doc: ScimDocument): Promise<StoredResource> {
  const { delivery } = ctx;
  const target = ctx.target.name;
  // Refuse a taken userName, or a user the mapping cannot provision, before anything is recorded.
  const taken = await ctx.stores.resources.list(target, "User", {
    lookups: [{ attribute: "userName", value: String(doc.userName) }],
    startIndex: 1,
    count: 1,
  });
  if (taken.total > 0) throw userNameTaken(doc.userName, taken.resources[0]!.id);
  const id = randomUUID();
  ctx.provisioner.checkUser?.(id, doc, ctx.request.password);
  const stored = await ctx.stores.resources.create(
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
  return stored;
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

/**
 * A deleted user as its removal work keeps it: the document, and the groups it was in (gone from the store
 * with it), for a vendor that refuses to delete a group member until it has left its groups.
 */
async function removedUser(ctx: ScimContext, before: StoredResource): Promise<ScimDocument> {
  const groups = (await ctx.stores.members.groupsOf(ctx.target.name, [before.id])).get(before.id) ?? [];
  return groups.length === 0 ? before.doc : { ...before.doc, groups: groups.map((g) => ({ value: g.id, display: g.displayName })) };
}

/** A DELETE of a user: removed, and its vendor user removed through the outbox (recorded with the delete, then waited for). */
export async function removeUser(ctx: ScimContext, before: StoredResource): Promise<void> {
  const work = ctx.delivery ? ctx.delivery.order({ deprovision: true, removedDoc: await removedUser(ctx, before) }) : undefined;
  await ctx.stores.resources.remove(ctx.target.name, "User", before.id, { expectedVersion: ctx.request.expectedVersion, work });
  if (work) ctx.scratch.recorded = { id: before.id, deprovision: true };
}

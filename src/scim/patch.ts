/**
 * A PatchOp applied to the resource as it is: read once, checked against If-Match, patched (simple
 * attributes directly, anything else by scimmy's PatchOp), written.
 */
import SCIMMY from "scimmy";
import type { ResourceKind, StoredResource } from "../store/types";
import type { ScimContext } from "./context";
import { ScimError, staleVersion } from "./errors";
import { notFound, schemaChecked } from "./documents";
import { applyAttributePatch, planAttributePatch } from "./attribute-patch";
import { readView, userView, userViews, type UserGroups } from "./views";
import { writeUser } from "./users";
import { writeDocument, writeResource, type Written } from "./writes";
import { resourceClass } from "../scim-model/schema";
import type { Json } from "../lib/json";

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

/** The operations applied by scimmy to the whole view; the result is validated as a request body would be (a PATCH of `schemas`, say, is checked there). */
async function patchedByScimmy(kind: ResourceKind, view: Json, message: Json): Promise<unknown> {
  const before = new (resourceClass(kind).schema)(view as never, "out");
  // An unchanged resource is written too: a deactivation is re-sent to a user already held inactive.
  const patched: unknown = await new SCIMMY.Messages.PatchOp(message as never).apply(before as never).catch(explainPatchRefusal);
  return patched ?? before;
}

/** The stored resource a PATCH applies to, at the version If-Match names; the version read is the one the write must find. */
async function readForPatch(kind: ResourceKind, id: string, ctx: ScimContext): Promise<StoredResource> {
  const found = await ctx.stores.resources.get(ctx.target.name, kind, id);
  if (!found) throw notFound(kind, id);
  if (ctx.request.expectedVersion !== undefined && found.version !== ctx.request.expectedVersion) throw staleVersion(kind, found.version);
  ctx.scratch.readVersion = found.version;
  return found;
}

/**
 * A user's PATCH: the user and its groups read once. Simple attributes (what Okta and Entra send to
 * deactivate, rename, retitle) are applied to the view as read; anything else goes through scimmy with the
 * whole view, vendor extension included.
 */
async function patchUser(id: string, ctx: ScimContext, normalise: (current: Json) => Json): Promise<Written> {
  const found = await readForPatch("User", id, ctx);
  const groups: UserGroups = await ctx.stores.members.groupsOf(ctx.target.name, [id]);
  const view = userView(found, ctx.request.baseUrl, groups.get(id) ?? []);
  const message = normalise(view);
  const simple = planAttributePatch("User", message.Operations);
  if (simple) {
    const { document } = schemaChecked(() => applyAttributePatch(view, simple));
    return { kind: "User", stored: await writeUser(ctx, id, document, found), groups };
  }
  const whole = (await userViews([found], ctx, groups))[0]!;
  const patched = await patchedByScimmy("User", whole, normalise(whole));
  return writeResource("User", ctx, id, patched);
}

/** A group's PATCH that is more than a membership change (those take the membership fast path). */
async function patchGroup(id: string, ctx: ScimContext, normalise: (current: Json) => Json): Promise<Written> {
  const { view, version } = await readView("Group", id, ctx);
  if (ctx.request.expectedVersion !== undefined && version !== ctx.request.expectedVersion) throw staleVersion("Group", version);
  ctx.scratch.readVersion = version;
  const message = normalise(view);
  const simple = planAttributePatch("Group", message.Operations);
  if (simple) return writeDocument("Group", ctx, id, schemaChecked(() => applyAttributePatch(view, simple)).document);
  return writeResource("Group", ctx, id, await patchedByScimmy("Group", view, message));
}

/** A PatchOp applied to the resource as it is (read, checked against If-Match, patched, written). */
export function patchResource(kind: ResourceKind, id: string, ctx: ScimContext, normalise: (current: Json) => Json): Promise<Written> {
  return kind === "User" ? patchUser(id, ctx, normalise) : patchGroup(id, ctx, normalise);
}

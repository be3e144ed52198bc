/**
 * A PatchOp applied to the resource as it is: read once, checked against If-Match, patched (simple
 * attributes directly, anything else by scimmy's PatchOp), written.
 */
import type { ResourceKind } from "../store/types";
import type { ScimContext } from "./context";
import { schemaChecked } from "./documents";
import { applyAttributePatch, planAttributePatch } from "./attribute-patch";
import { patchGroup } from "./group-patch";
import { patchedByScimmy, readForPatch } from "./patch-steps";
import { userView, userViews, type UserGroups } from "./views";
import { writeUser } from "./users";
import { writeResource, type Written } from "./writes";
import type { Json } from "../lib/json";

/**
 * A user's PATCH: the user and its groups read once. Simple attributes (what Okta and Entra send to
 * deactivate, rename, retitle) are applied to the view as read; anything else goes through scimmy with the
 * whole view, vendor extension included.
 */
async function patchUser(id: string, ctx: ScimContext, normalise: (current?: Json) => Json): Promise<Written> {
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

/** A PatchOp applied to the resource as it is (read, checked against If-Match, patched, written). */
export function patchResource(kind: ResourceKind, id: string, ctx: ScimContext, normalise: (current?: Json) => Json): Promise<Written> {
  return kind === "User" ? patchUser(id, ctx, normalise) : patchGroup(id, ctx, normalise);
}

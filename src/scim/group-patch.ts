/**
 * A group's PATCH that is more than a membership change (those take the membership fast path): the group
 * is read without its members; simple attributes are applied directly, anything else by scimmy with the
 * members in chunks (member-operations.ts), and the members are stored as a difference. The event loop is
 * given back between the steps that read or walk the member list.
 */
import type { ScimContext } from "./context";
import type { PatchOperation } from "./compat";
import { schemaChecked } from "./documents";
import { applyAttributePatch, planAttributePatch } from "./attribute-patch";
import { writePatchedGroup } from "./groups";
import { applyGroupOperations } from "./member-operations";
import { readForPatch } from "./patch-steps";
import { baseView, memberView } from "./views";
import type { Written } from "./writes";
import { parseFilter, predicateOf } from "../scim-model/filter";
import { yieldToOthers } from "../store/resources/scan";
import type { Json } from "../lib/json";

/** Members one pass of the filter evaluator looks at before the event loop is given back. */
const MATCH_CHUNK = 2_000;

/** The paths of the operations (a path, or the keys of a path-less value) that filter members: `members[…]…`. */
function memberFilters(operations: unknown): string[] {
  if (!Array.isArray(operations)) return [];
  const paths = (operations as PatchOperation[]).flatMap((op) =>
    op.path !== undefined ? [op.path] : op.value && typeof op.value === "object" ? Object.keys(op.value) : [],
  );
  return paths.filter((p) => p.startsWith("members[")).map((p) => p.slice(0, p.lastIndexOf("]") + 1));
}

/** The first member a `members[…]` filter matches, looked for a chunk at a time (the normaliser's own evaluator). */
async function firstMatch(members: Json[], filter: string): Promise<Json | undefined> {
  let matches: (resource: Json) => boolean;
  try {
    matches = predicateOf(parseFilter(filter), "Group") as (resource: Json) => boolean;
  } catch {
    return undefined;
  }
  for (let i = 0; i < members.length; i += MATCH_CHUNK) {
    const chunk = members.slice(i, i + MATCH_CHUNK);
    if (matches({ members: chunk })) return chunk.find((m) => matches({ members: [m] }));
    await yieldToOthers();
  }
  return undefined;
}

/**
 * The request's PatchOp as the normaliser reads it for this group. Of the members it asks only whether
 * there are any, and whether a member filter matches one: so it is shown the first member and, for each
 * filter, the first it matches. `unread`: the message as read without the group.
 */
export async function groupMessage(base: Json, members: Json[], normalise: (current?: Json) => Json, unread = normalise()): Promise<Json> {
  const shown = new Set<Json>(members.slice(0, 1));
  for (const filter of memberFilters(unread.Operations)) {
    const found = await firstMatch(members, filter);
    if (found) shown.add(found);
  }
  return normalise(shown.size > 0 ? { ...base, members: [...shown] } : base);
}

/** A group's PATCH that is more than a membership change. `normalise`: the request's PatchOp as the normaliser reads it for a group as it is. */
export async function patchGroup(id: string, ctx: ScimContext, normalise: (current?: Json) => Json): Promise<Written> {
  const found = await readForPatch("Group", id, ctx);
  const base = baseView(found);
  // As read without the group (the normaliser's answers that depend on the members are not given yet).
  const unread = normalise();
  const simple = planAttributePatch("Group", unread.Operations);
  if (simple) return { kind: "Group", view: await writePatchedGroup(ctx, id, schemaChecked(() => applyAttributePatch(base, simple)).document) };
  const rows = await ctx.stores.members.of(ctx.target.name, id);
  await yieldToOthers();
  const members = rows.map((m) => memberView(m, ctx.request.baseUrl));
  const patched = await applyGroupOperations(base, members, await groupMessage(base, members, normalise, unread));
  return { kind: "Group", view: await writePatchedGroup(ctx, id, patched.document, { current: rows, wanted: patched.members }) };
}

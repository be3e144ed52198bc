/** The steps every PATCH shares: the read at the version If-Match names, and scimmy's PatchOp. */
import SCIMMY from "scimmy";
import type { ResourceKind, StoredResource } from "../store/types";
import type { ScimContext } from "./context";
import { ScimError, staleVersion } from "./errors";
import { notFound } from "./documents";
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
export async function patchedByScimmy(kind: ResourceKind, view: Json, message: Json): Promise<unknown> {
  const before = new (resourceClass(kind).schema)(view as never, "out");
  // An unchanged resource is written too: a deactivation is re-sent to a user already held inactive.
  const patched: unknown = await new SCIMMY.Messages.PatchOp(message as never).apply(before as never).catch(explainPatchRefusal);
  return patched ?? before;
}

/**
 * What scimmy's PatchOp leaves of the view, changed or not, as scimmy holds it between operations (an
 * attribute an operation emptied is gone, not an empty list as in the view).
 */
export async function scimmyTarget(kind: ResourceKind, view: Json, message: Json): Promise<unknown> {
  const before = new (resourceClass(kind).schema)(view as never, "out");
  let target: unknown = before;
  const keep = (patched: unknown) => (target = patched);
  await new SCIMMY.Messages.PatchOp(message as never).apply(before as never, keep as never).catch(explainPatchRefusal);
  return target;
}

/** The stored resource a PATCH applies to, at the version If-Match names; the version read is the one the write must find. */
export async function readForPatch(kind: ResourceKind, id: string, ctx: ScimContext): Promise<StoredResource> {
  const found = await ctx.stores.resources.get(ctx.target.name, kind, id);
  if (!found) throw notFound(kind, id);
  if (ctx.request.expectedVersion !== undefined && found.version !== ctx.request.expectedVersion) throw staleVersion(kind, found.version);
  ctx.scratch.readVersion = found.version;
  return found;
}

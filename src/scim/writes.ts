/** What a write leaves for its answer, and the one place a POST, PUT or PATCH result is written by kind. */
import type { ResourceKind, StoredResource } from "../store/types";
import { StoreUnavailableError } from "../store/types";
import type { ScimContext } from "./context";
import { validated } from "./documents";
import { writeGroup } from "./groups";
import { writeUser } from "./users";
import { baseView, userViews, type UserGroups } from "./views";
import type { Json } from "../lib/json";

/**
 * A user as stored (its view is built once its vendor work has been waited for: the view shows whether the
 * vendor has it), with its groups when the write read them; or a group's view, members and all.
 */
export type Written = { kind: "User"; stored: StoredResource; groups?: UserGroups } | { kind: "Group"; view: Json };

/** A resource written from a document the schema has already read (`before`: the user as the caller read it). */
export async function writeDocument(
  kind: ResourceKind,
  ctx: ScimContext,
  id: string | undefined,
  instance: unknown,
  before?: StoredResource,
): Promise<Written> {
  if (kind === "Group") return { kind, view: await writeGroup(ctx, id, instance) };
  return { kind, stored: await writeUser(ctx, id, instance, before) };
}

/** A POST (no id) or PUT body: validated, then written. */
export function writeResource(kind: ResourceKind, ctx: ScimContext, id: string | undefined, body: unknown): Promise<Written> {
  return writeDocument(kind, ctx, id, validated(kind, body));
}

/** The view that answers a write. Recorded is recorded: a store that fails while it is read does not turn that into an error. */
export async function viewOfWritten(ctx: ScimContext, written: Written): Promise<Json> {
  if (written.kind === "Group") return written.view;
  const { stored, groups } = written;
  try {
    return (await userViews([stored], ctx, groups))[0]!;
  } catch (error) {
    if (error instanceof StoreUnavailableError) return baseView(stored);
    throw error;
  }
}

/**
 * A request body as the bridge keeps it: validated by the schema, the attributes the bridge derives cut
 * out, the keys the store looks it up by; and the store's refusals said as SCIM errors.
 */
import SCIMMY from "scimmy";
import {
  NotFoundError,
  UniquenessError,
  VersionMismatchError,
  type GroupKeys,
  type ResourceKind,
  type ScimDocument,
  type StoredResource,
  type UserKeys,
} from "../store/types";
import type { ScimContext } from "./context";
import { ConcurrentChangeError, ScimError, staleVersion } from "./errors";
import { resourceClass } from "../scim-model/schema";
import { VENDOR_LINK } from "../scim-model/vendor-extension";

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

export function notFound(kind: ResourceKind, id: string): ScimError {
  return new ScimError(404, null, `${kind} ${id} not found.`);
}

/** Store failures as the SCIM errors an IdP understands. */
export function storeError(error: unknown, kind: ResourceKind, doc?: ScimDocument, ctx?: ScimContext): never {
  if (error instanceof VersionMismatchError && ctx && ctx.request.expectedVersion === undefined) throw new ConcurrentChangeError(kind);
  if (error instanceof UniquenessError) {
    const name = doc?.userName === undefined ? "" : ` '${String(doc.userName)}'`;
    throw new ScimError(409, "uniqueness", `userName${name} is already taken by another user of this target (userName is unique, ignoring case).`);
  }
  if (error instanceof NotFoundError) throw notFound(kind, error.id);
  if (error instanceof VersionMismatchError) throw staleVersion(kind, error.current);
  throw error;
}

/** If-Match is checked before the vendor is called: a stale version must not change the vendor and then answer 412. */
export function requireVersion(before: StoredResource, ctx: ScimContext): void {
  if (ctx.request.expectedVersion !== undefined && before.version !== ctx.request.expectedVersion) throw new VersionMismatchError(before.version);
}

/** Runs a schema check: scimmy's refusals (TypeErrors) are 400 invalidValue. */
export function schemaChecked<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof TypeError) throw new SCIMMY.Types.Error(400, "invalidValue", error.message);
    throw error;
  }
}

/** A request body as the schema reads it: scimmy validates and coerces input. */
export function validated(kind: ResourceKind, body: unknown): unknown {
  return schemaChecked(() => new (resourceClass(kind).schema)(body as never, "in"));
}

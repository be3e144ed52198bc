/**
 * PATCHes that only set or remove single-valued, simple attributes — Entra's one-path replaces
 * (`displayName`, `active`, `title`), Okta's path-less `{active: false}` — applied to the stored document
 * directly: each value checked by its own attribute's rules, without coercing the whole resource through
 * scimmy's PatchOp three times. Anything else (complex or multi-valued attributes, value filters, extensions)
 * goes the scimmy way.
 */
import SCIMMY from "scimmy";
import type { ResourceKind } from "../store/types";
import { definitionOf } from "../scim-model/schema";
import type { Json } from "../lib/json";

type Attribute = InstanceType<typeof SCIMMY.Types.Attribute>;

/** One attribute set (value) or removed (value undefined). */
export interface AttributeChange {
  attribute: Attribute;
  value?: unknown;
}

/** The core attributes this path may change: writable, single-valued, not complex. */
function simpleAttribute(kind: ResourceKind, name: unknown): Attribute | undefined {
  if (typeof name !== "string" || /[.:[\]]/.test(name)) return undefined;
  const found = (definitionOf(kind).attributes as unknown[]).find(
    (a): a is Attribute => a instanceof SCIMMY.Types.Attribute && a.name.toLowerCase() === name.toLowerCase(),
  );
  if (!found) return undefined;
  const config = found.config as { multiValued?: boolean; mutable?: unknown; direction?: string };
  const writable = config.mutable === true || config.mutable === "readWrite";
  return writable && !config.multiValued && found.type !== "complex" && config.direction === "both" && found.name !== "schemas" ? found : undefined;
}

function changeOf(kind: ResourceKind, verb: string, name: unknown, value: unknown): AttributeChange | undefined {
  const attribute = simpleAttribute(kind, name);
  if (!attribute) return undefined;
  if (verb === "remove") return value === undefined ? { attribute } : undefined;
  return value === null || value === undefined || typeof value === "object" ? undefined : { attribute, value };
}

/** The changes of a normalised PatchOp when every operation is a simple one; undefined otherwise. */
export function planAttributePatch(kind: ResourceKind, operations: unknown): AttributeChange[] | undefined {
  if (!Array.isArray(operations) || operations.length === 0) return undefined;
  const changes: AttributeChange[] = [];
  for (const op of operations as { op: string; path?: string; value?: unknown }[]) {
    if (op.op !== "add" && op.op !== "replace" && op.op !== "remove") return undefined;
    if (op.path !== undefined) {
      const change = changeOf(kind, op.op, op.path, op.value);
      if (!change) return undefined;
      changes.push(change);
      continue;
    }
    if (op.op === "remove" || !op.value || typeof op.value !== "object" || Array.isArray(op.value)) return undefined;
    for (const [name, value] of Object.entries(op.value as Json)) {
      const change = changeOf(kind, op.op, name, value);
      if (!change) return undefined;
      changes.push(change);
    }
  }
  return changes;
}

/**
 * The document with the changes applied, each value coerced by its attribute (a wrong type or a missing
 * required attribute is the TypeError scimmy would raise); answers whether anything changed.
 */
export function applyAttributePatch(document: Json, changes: AttributeChange[]): { document: Json; changed: boolean } {
  const next: Json = { ...document };
  for (const { attribute, value } of changes) {
    const coerced = attribute.coerce(value, "in") as unknown;
    if (coerced === undefined) delete next[attribute.name];
    else next[attribute.name] = coerced;
  }
  const changed = changes.some(({ attribute }) => next[attribute.name] !== document[attribute.name]);
  return { document: next, changed };
}

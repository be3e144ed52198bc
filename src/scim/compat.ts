/**
 * What Okta and Microsoft Entra ID really send, made into what RFC 7643/7644 (and scimmy) expect, before
 * scimmy sees it: string booleans, a bare-string manager, member lists in several shapes, capitalised ops,
 * mixed-case attribute paths, adds to a filtered path that matches nothing yet, and unknown schema URIs.
 */
import type { ResourceKind } from "../store/types";
import { ScimError } from "./errors";
import { parseFilter, predicateOf } from "../scim-model/filter";
import { checkPatchPath } from "../scim-model/input-limits";
import { VENDOR_LINK } from "../scim-model/vendor-extension";
import { attributeInfo, canonicalAttributePath, ENTERPRISE_USER, knownSchemas } from "../scim-model/schema";
import type { Json } from "../lib/json";
import { ownEntry } from "../lib/own-entry";

const BOOLEAN_KEYS = new Set(["active", "primary"]);

function isObject(value: unknown): value is Json {
  return !!value && typeof value === "object" && !Array.isArray(value);
}

/** "True" / "false" → booleans, for the boolean attributes IdPs send as strings. */
function toBoolean(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const lower = value.trim().toLowerCase();
  return lower === "true" ? true : lower === "false" ? false : value;
}

function fixBooleans(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fixBooleans);
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) out[k] = BOOLEAN_KEYS.has(k.toLowerCase()) ? toBoolean(v) : fixBooleans(v);
  return out;
}

/**
 * The enterprise extension's value as scimmy takes it: Entra sends the manager as a bare id string, and some
 * clients repeat `schemas` inside the extension's value (not an attribute of it: dropped).
 */
function fixExtension(value: unknown): unknown {
  if (!isObject(value)) return fixBooleans(value);
  const extension = fixBooleans(Object.fromEntries(Object.entries(value).filter(([k]) => k.toLowerCase() !== "schemas")));
  if (!isObject(extension)) return extension;
  const key = Object.keys(extension).find((k) => k.toLowerCase() === "manager");
  if (key === undefined) return extension;
  const manager = extension[key];
  if (typeof manager === "string") return { ...extension, [key]: manager ? { value: manager } : null };
  return extension;
}

/** One member in any shape IdPs use: "id", {value}, {value, display}, {value, displayName}, {$ref: null, value}. */
export function memberOf(value: unknown): Json | undefined {
  if (typeof value === "string") return { value };
  if (!isObject(value)) return undefined;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    const key = k.toLowerCase();
    if (key === "value") out.value = typeof v === "number" ? String(v) : v;
    else if (key === "display" || key === "displayname") out.display ??= v;
    else if (key === "type" && (v === "User" || v === "Group")) out.type = v;
  }
  return typeof out.value === "string" ? out : undefined;
}

export function membersOf(value: unknown): Json[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return list.map((entry) => {
    const member = memberOf(entry);
    if (!member)
      throw new ScimError(400, "invalidValue", `A member is an object with the member's id as "value" (or that id as text), not ${JSON.stringify(entry)}.`);
    return member;
  });
}

function readOnlyVendorLink(): ScimError {
  return new ScimError(400, "mutability", `${VENDOR_LINK} is read-only: the bridge records the vendor link itself.`);
}

/**
 * A PATCH path as scimmy will read it: the name checks of checkPatchPath, then its value filter parsed
 * (scimmy's own tokenizer stops silently at what it cannot read, so `emails[type eq "work" or]` would
 * otherwise remove the work email), and never the read-only vendor link.
 */
function checkPatchPathShape(path: string, what = "The PATCH path"): void {
  checkPatchPath(path, what);
  if (path.trim().toLowerCase().startsWith(VENDOR_LINK.toLowerCase())) throw readOnlyVendorLink();
  const open = path.indexOf("[");
  if (open < 0) return;
  const close = path.lastIndexOf("]");
  try {
    parseFilter(path.slice(0, close > open ? close + 1 : undefined).trim());
  } catch (error) {
    throw new ScimError(400, "invalidPath", `${what} '${path.slice(0, 100)}' has a value filter that is not valid SCIM filter syntax.`);
  }
}

/** A POST or PUT body: the password is taken out (never stored), the rest normalised. */
export function normaliseResource(kind: ResourceKind, body: Json): { resource: Json; password?: string } {
  const known = knownSchemas(kind);
  if ("schemas" in body && !(Array.isArray(body.schemas) && body.schemas.every((s) => typeof s === "string")))
    throw new ScimError(400, "invalidSyntax", `"schemas" lists the resource's schema URIs, such as ["${known[0]}"].`);
  const out: Json = {};
  let password: string | undefined;
  const core = `${known[0]!.toLowerCase()}:`;
  for (const [written, value] of Object.entries(body)) {
    // `urn:…:core:2.0:User:active` is `active` (scimmy would ignore the qualified key).
    const key = written.toLowerCase().startsWith(core) && !written.slice(core.length).includes(".") ? written.slice(core.length) : written;
    const lower = key.toLowerCase();
    if (lower === "password") {
      if (typeof value === "string") password = value;
    } else if (lower === VENDOR_LINK.toLowerCase()) {
      // Read-only: the vendor link is the bridge's record, never the IdP's to set (RFC 7643 §2.2: ignored).
    } else if (lower === "schemas" && Array.isArray(value)) {
      const schemas = value.filter((s): s is string => typeof s === "string" && known.some((k) => k.toLowerCase() === s.toLowerCase()));
      out.schemas = schemas.length > 0 ? schemas : [known[0]];
    } else if (lower === "members" && kind === "Group") {
      out.members = membersOf(value);
    } else if (lower === ENTERPRISE_USER.toLowerCase()) {
      out[ENTERPRISE_USER] = fixExtension(value);
    } else {
      out[key] = BOOLEAN_KEYS.has(lower) ? toBoolean(value) : fixBooleans(value);
    }
  }
  if (!out.schemas) out.schemas = [known[0]];
  if (kind === "User" && out[ENTERPRISE_USER] !== undefined && !(out.schemas as string[]).includes(ENTERPRISE_USER))
    (out.schemas as string[]).push(ENTERPRISE_USER);
  return { resource: out, password };
}

export interface PatchOperation {
  op: string;
  path?: string;
  value?: unknown;
}

const FILTER_OPERATORS = new Set(["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr"]);
const isWordStart = (c: string) => /[A-Za-z$]/.test(c);
const isWordChar = (c: string) => /[\w$-]/.test(c);

/**
 * Rewrites each attribute name in a value filter ("Type eq "work"") — the word before an operator — in one
 * pass over the text: quoted values are skipped whole, and every character is looked at a bounded number
 * of times, whatever the input.
 */
function renameFilterAttributes(filter: string, rename: (name: string) => string): string {
  let out = "";
  let i = 0;
  while (i < filter.length) {
    const c = filter[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < filter.length && filter[j] !== '"') j += filter[j] === "\\" ? 2 : 1;
      out += filter.slice(i, j + 1);
      i = j + 1;
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (j < filter.length && isWordChar(filter[j]!)) j++;
      const word = filter.slice(i, j);
      let k = j;
      while (k < filter.length && /\s/.test(filter[k]!)) k++;
      let end = k;
      while (end < filter.length && /[A-Za-z]/.test(filter[end]!)) end++;
      const next = filter.slice(k, end).toLowerCase();
      const beforeOperator = k > j && FILTER_OPERATORS.has(next) && (end === filter.length || !isWordChar(filter[end]!));
      out += beforeOperator ? rename(word) : word;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Canonical casing of every attribute name in a PATCH path, filters included ("Emails[Type eq "work"].Value"). */
export function canonicalPatchPath(kind: ResourceKind, path: string): string {
  const trimmed = path.trim();
  const open = trimmed.indexOf("[");
  if (open < 0) return canonicalAttributePath(kind, trimmed);
  const close = trimmed.lastIndexOf("]");
  const attr = trimmed.slice(0, open);
  const after = close > open ? trimmed.slice(close + 1) : "";
  if (!attr || close < open || (after && !/^\.[^.[\]]+$/.test(after))) return path;
  const head = canonicalAttributePath(kind, attr);
  const fixedFilter = renameFilterAttributes(trimmed.slice(open + 1, close), (name) => {
    const full = canonicalAttributePath(kind, `${head}.${name}`);
    return full.slice(full.lastIndexOf(".") + 1);
  });
  const tail = after
    ? `.${canonicalAttributePath(kind, `${head}.${after.slice(1)}`)
        .split(".")
        .pop()}`
    : "";
  return `${head}[${fixedFilter}]${tail}`;
}

function lastSegment(path: string): string {
  const open = path.indexOf("[");
  const close = path.lastIndexOf("]");
  const noFilter = open >= 0 && close > open ? path.slice(0, open) + path.slice(close + 1) : path;
  const afterUrn = noFilter.slice(noFilter.lastIndexOf(":") + 1);
  return afterUrn.slice(afterUrn.lastIndexOf(".") + 1).toLowerCase();
}

function normaliseValue(kind: ResourceKind, path: string | undefined, value: unknown): unknown {
  if (path === undefined) {
    if (!isObject(value)) return value;
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      // A URN key (the vendor link's included) contains ':', so every such key is checked here.
      if (/[:.[]/.test(k)) checkPatchPathShape(k, "A key of the PATCH value");
      const key = canonicalPatchPath(kind, k); // attribute names are case-insensitive: DISPLAYNAME is displayName
      const seg = lastSegment(key);
      if (seg === "manager" && typeof v === "string") out[key] = { value: v };
      else if (key.toLowerCase() === ENTERPRISE_USER.toLowerCase()) out[ENTERPRISE_USER] = fixExtension(v);
      else if (kind === "Group" && key.toLowerCase() === "members") out.members = membersOf(v);
      else out[key] = BOOLEAN_KEYS.has(seg) ? toBoolean(v) : fixBooleans(v);
    }
    return out;
  }
  if (path === ENTERPRISE_USER) return fixExtension(value);
  const seg = lastSegment(path);
  if (BOOLEAN_KEYS.has(seg)) return toBoolean(value);
  if (seg === "manager" && typeof value === "string") return { value };
  if (kind === "Group" && path === "members") return membersOf(value);
  return fixBooleans(value);
}

/**
 * `add`/`replace` on `emails[type eq "work"].value` when the user has no work email yet: RFC 7644 leaves it
 * to the server, scimmy answers noTarget, and Entra expects the entry to be created. Rewrites the operation
 * into an add of a new entry built from the filter's equality terms.
 */
function addMissingEntry(kind: ResourceKind, op: PatchOperation, current: Json | undefined): PatchOperation {
  if (!current || !op.path || (op.op !== "add" && op.op !== "replace")) return op;
  const match = /^([^[]+)\[(.+)\]\.([^.[\]]+)$/.exec(op.path);
  if (!match) return op;
  const [, attr, filterText, sub] = match;
  let matches: (entry: Json) => boolean;
  try {
    matches = predicateOf(parseFilter(`${attr}[${filterText}]`), kind) as (resource: Json) => boolean;
  } catch {
    return op;
  }
  const entries = (ownEntry(current, attr!) as Json[] | undefined) ?? [];
  const terms: Json = {};
  for (const term of filterText!.split(/\s+and\s+/i)) {
    const eq = /^\s*([\w$]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(term);
    if (!eq) return op; // only plain equality terms say what the new entry is
    terms[eq[1]!] = eq[2];
  }
  if (Array.isArray(entries) && matches({ [attr!]: entries })) return op;
  return { op: "add", path: attr, value: [{ ...terms, [sub!]: op.value }] };
}

/**
 * `remove` of a whole extension (`urn:…:enterprise:2.0:User`) is a remove of each of its attributes the
 * resource has (scimmy only removes attributes); nothing to remove is a no-op.
 */
function removeExtension(urn: string, current: Json | undefined): PatchOperation[] {
  if (!current) return [{ op: "remove", path: urn }];
  const extension = current[urn];
  return isObject(extension) ? Object.keys(extension).map((name) => ({ op: "remove", path: `${urn}:${name}` })) : [];
}

/**
 * A path-less value whose keys carry value filters (`{"roles[value eq \"agent\"].display": "x"}`): each such
 * key becomes an operation of its own with that path, applied as a path-ed one would be (scimmy fails on
 * them inside a value when the attribute is absent).
 */
function splitFilteredKeys(kind: ResourceKind, op: PatchOperation, value: Json, current: Json | undefined): PatchOperation[] {
  const filtered = Object.keys(value).filter((key) => key.includes("["));
  if (filtered.length === 0) return [addMissingEntry(kind, op, current)];
  const rest = Object.fromEntries(Object.entries(value).filter(([key]) => !key.includes("[")));
  return [
    ...(Object.keys(rest).length > 0 ? [{ op: op.op, value: rest }] : []),
    ...filtered.map((path) => addMissingEntry(kind, { op: op.op, path, value: value[path] }, current)),
  ];
}

/**
 * `remove` with a value (the values to take out of a multi-valued attribute) on an attribute the resource
 * does not have: nothing to remove (scimmy would fail on it with exception text).
 */
function removesNothing(op: PatchOperation, current: Json | undefined): boolean {
  if (!current || op.value === undefined || !op.path || /[[:.]/.test(op.path)) return false;
  const value = ownEntry(current, op.path);
  return value === undefined || value === null;
}

/** `remove` with a value on a multi-valued complex attribute names the entries to take out, as objects. */
function requireEntries(kind: ResourceKind, op: PatchOperation, index: number): void {
  const info = op.path ? attributeInfo(kind, op.path) : undefined;
  if (!info || info.type !== "complex" || !info.multiValued) return;
  const entries = Array.isArray(op.value) ? op.value : [op.value];
  if (entries.some((entry) => !isObject(entry)))
    throw new ScimError(
      400,
      "invalidValue",
      `Operation ${index + 1} of the PATCH (remove) lists the ${info.name} entries to remove as objects, such as [{"value": "…"}].`,
    );
}

/** A PatchOp's operations (some clients spell the key in lower case); undefined when there is no list. */
function operationsOf(message: Json): unknown[] | undefined {
  return Array.isArray(message.Operations) ? message.Operations : Array.isArray(message.operations) ? message.operations : undefined;
}

/** Normalises every operation of a PatchOp message; `current` is the resource as it is now (for adds). */
export function normalisePatch(kind: ResourceKind, message: Json, current?: Json): Json {
  if (message.schemas !== undefined && !(Array.isArray(message.schemas) && message.schemas.every((s) => typeof s === "string")))
    throw new ScimError(400, "invalidSyntax", 'A PATCH body lists its schema as "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"].');
  const operations = operationsOf(message);
  if (!operations) return message;
  const fixed = operations.map((raw: unknown, index: number) => {
    if (!isObject(raw)) throw new ScimError(400, "invalidSyntax", `Operation ${index + 1} of the PATCH is not an object with "op", "path" and "value".`);
    if (typeof raw.op !== "string") throw new ScimError(400, "invalidSyntax", `Operation ${index + 1} of the PATCH needs "op": "add", "remove" or "replace".`);
    if (raw.path !== undefined && raw.path !== null && typeof raw.path !== "string")
      throw new ScimError(400, "invalidPath", `The path of PATCH operation ${index + 1} is an attribute path given as text.`);
    if (typeof raw.path === "string") checkPatchPathShape(raw.path);
    const verb = raw.op.toLowerCase();
    const pathless = typeof raw.path !== "string" || !raw.path.trim();
    if ((verb === "add" || verb === "replace") && (raw.value === undefined || (pathless && !isObject(raw.value))))
      throw new ScimError(
        400,
        "invalidValue",
        `Operation ${index + 1} of the PATCH (${verb}) needs a "value"${pathless ? ": without a path, an object of attributes and their new values" : ""}.`,
      );
    const op: PatchOperation = {
      op: raw.op.toLowerCase(),
      ...(typeof raw.path === "string" && raw.path.trim() ? { path: canonicalPatchPath(kind, raw.path) } : {}),
    };
    if ("value" in raw) op.value = normaliseValue(kind, op.path, raw.value);
    // RFC 7643 §2.5: null is "unassigned"; setting an attribute to null removes it.
    if ((op.op === "add" || op.op === "replace") && op.path && op.value === null) return [{ op: "remove", path: op.path }];
    if (!op.path && (op.op === "add" || op.op === "replace") && isObject(op.value)) return splitFilteredKeys(kind, op, op.value, current);
    if (op.op === "remove" && op.path === ENTERPRISE_USER) return removeExtension(op.path, current);
    if (op.op === "remove" && removesNothing(op, current)) return [];
    if (op.op === "remove" && op.value !== undefined) requireEntries(kind, op, index);
    return [addMissingEntry(kind, op, current)];
  });
  const rest = { ...message };
  delete rest.operations; // some clients spell it in lower case
  return { ...rest, Operations: fixed.flat() };
}

function isPasswordPath(path: string): boolean {
  const lower = path.trim().toLowerCase();
  return lower === "password" || lower === "urn:ietf:params:scim:schemas:core:2.0:user:password";
}

/** The password a PatchOp sets (Okta's password sync), if any: `path: password`, or inside a path-less value. */
export function patchPassword(message: Json): string | undefined {
  for (const op of operationsOf(message) ?? []) {
    if (!isObject(op) || typeof op.op !== "string" || !["add", "replace"].includes(op.op.toLowerCase())) continue;
    if (typeof op.path === "string" && isPasswordPath(op.path) && typeof op.value === "string") return op.value;
    if (op.path === undefined && isObject(op.value)) {
      const key = Object.keys(op.value).find(isPasswordPath);
      if (key !== undefined && typeof op.value[key] === "string") return op.value[key] as string;
    }
  }
  return undefined;
}

const CORE_USER_PREFIX = "urn:ietf:params:scim:schemas:core:2.0:user:";

function isFalse(value: unknown): boolean {
  return value === false || (typeof value === "string" && value.trim().toLowerCase() === "false");
}

function isActivePath(path: unknown): boolean {
  if (typeof path !== "string") return false;
  const lower = path.trim().toLowerCase();
  return (lower.startsWith(CORE_USER_PREFIX) ? lower.slice(CORE_USER_PREFIX.length) : lower) === "active";
}

/**
 * Whether a PUT body or a PatchOp leaves `active` false, read from the raw body as leniently as an IdP may
 * write it (the last write to `active` wins, as it would when applied): the bridge deactivates on it even
 * when the rest of the request is refused.
 */
export function requestsDeactivation(method: "PUT" | "PATCH", body: unknown): boolean {
  if (!isObject(body)) return false;
  let active: boolean | undefined;
  const write = (value: unknown) => (active = isFalse(value) ? false : value === undefined || value === null ? undefined : true);
  if (method === "PUT") {
    for (const [k, v] of Object.entries(body)) if (isActivePath(k)) write(v);
    return active === false;
  }
  for (const op of operationsOf(body) ?? []) {
    if (!isObject(op) || typeof op.op !== "string") continue;
    const verb = op.op.toLowerCase();
    const pathless = op.path === undefined || op.path === null || (typeof op.path === "string" && !op.path.trim());
    if (verb === "remove" && isActivePath(op.path)) active = undefined;
    if (verb !== "add" && verb !== "replace") continue;
    if (!pathless) {
      if (isActivePath(op.path)) write(op.value);
    } else if (isObject(op.value)) for (const [k, v] of Object.entries(op.value)) if (isActivePath(k)) write(v);
  }
  return active === false;
}

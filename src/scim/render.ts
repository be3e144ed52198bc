/**
 * How a resource goes out. Every stored document was validated when it was written, so an answer is its
 * view laid out in the schema's attribute order, with `schemas` and `meta` filled in and the request's
 * `attributes` / `excludedAttributes` applied (RFC 7644 §3.4.2.5) — no per-attribute coercion on the way out.
 */
import SCIMMY from "scimmy";
import type { ResourceKind } from "../store/types";
import { parseFilter, predicateOf } from "./filter";
import { canonicalAttributePath, definitionOf, splitUrn } from "./schema";

type Json = Record<string, unknown>;
type Definition = InstanceType<typeof SCIMMY.Types.SchemaDefinition>;
type Attribute = InstanceType<typeof SCIMMY.Types.Attribute>;

/** One attribute a projection names: its canonical segments ([name, sub] or [urn, name, sub]) and value filter. */
interface ProjectedPath {
  segments: string[];
  /** `emails[type eq "work"]`: the entries of the first attribute this keeps. */
  keeps?: (entry: unknown) => boolean;
}

/** A request's `attributes` (include) or `excludedAttributes` (exclude), parsed once. */
export interface Projection {
  include?: ProjectedPath[];
  exclude?: ProjectedPath[];
}

/** Attributes an answer always carries (RFC 7643 §3: `schemas` is required; `id` is returned "always"). */
const ALWAYS = new Set(["schemas", "id"]);

const META_ORDER = ["resourceType", "created", "lastModified", "location", "version"];

function isObject(value: unknown): value is Json {
  return !!value && typeof value === "object" && !Array.isArray(value);
}

function returnable(attribute: Attribute): boolean {
  const { returned, direction } = attribute.config as { returned?: unknown; direction?: string };
  return returned !== false && returned !== "never" && direction !== "in";
}

/**
 * A stored complex value as it goes out: each entry's sub-attributes in the schema's order, those never
 * returned (or not in the schema) left out.
 */
function complexOut(attribute: Attribute, value: unknown): unknown {
  const subs = attribute.subAttributes as Attribute[] | undefined;
  if (!subs) return value;
  const order = subs.filter(returnable).map((s) => s.name);
  const arrange = (entry: unknown) => {
    if (!isObject(entry)) return entry;
    const out: Json = {};
    for (const name of order) if (entry[name] !== undefined) out[name] = entry[name];
    return out;
  };
  return Array.isArray(value) ? value.map(arrange) : arrange(value);
}

function extensionOut(extension: Definition, value: Json): Json | undefined {
  const out: Json = {};
  for (const attribute of extension.attributes as Attribute[]) {
    const v = value[attribute.name];
    if (v !== undefined && v !== null && returnable(attribute)) out[attribute.name] = complexOut(attribute, v);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function metaOut(meta: Json, location: string): Json {
  const all: Json = { ...meta, location };
  const out: Json = {};
  for (const key of META_ORDER) if (all[key] !== undefined) out[key] = all[key];
  return out;
}

/** The schemas a resource lists: its core schema, each extension it has values for, then those it was written with. */
function schemasOf(definition: Definition, view: Json, extensions: string[]): string[] {
  const written = Array.isArray(view.schemas) ? view.schemas.filter((s): s is string => typeof s === "string") : [];
  return [...new Set([definition.id as string, ...extensions, ...written])];
}

/** A view (document, id, meta, derived attributes) as it goes out, whole: schema order, nothing coerced. */
export function renderWhole(kind: ResourceKind, view: Json, location: string): Json {
  const definition = definitionOf(kind);
  const body: Json = {};
  const extensions: string[] = [];
  for (const attribute of definition.attributes as (Attribute | Definition)[]) {
    if (attribute instanceof SCIMMY.Types.SchemaDefinition) {
      const id = attribute.id as string;
      const value = isObject(view[id]) ? extensionOut(attribute, view[id]) : undefined;
      if (value) {
        body[id] = value;
        extensions.push(id);
      }
      continue;
    }
    const { name } = attribute as Attribute;
    if (name === "schemas") continue;
    const value = view[name];
    if (value === undefined || value === null || !returnable(attribute as Attribute)) continue;
    body[name] = name === "meta" && isObject(value) ? metaOut(value, location) : complexOut(attribute as Attribute, value);
  }
  return { schemas: schemasOf(definition, view, extensions), ...body };
}

/** Splits `emails[type eq "work"].value` into the path without the filter and the filter's attribute part. */
function withoutValueFilter(name: string): { path: string; filtered?: string } {
  const open = name.indexOf("[");
  if (open < 0) return { path: name };
  const close = name.lastIndexOf("]");
  return { path: name.slice(0, open) + (close > open ? name.slice(close + 1) : ""), filtered: name.slice(0, close + 1) };
}

function projectedPath(kind: ResourceKind, name: string): ProjectedPath {
  const { path, filtered } = withoutValueFilter(name.trim());
  const canonical = canonicalAttributePath(kind, path);
  const { urn, rest } = splitUrn(kind, canonical);
  const segments = [...(urn ? [urn] : []), ...(rest ? rest.split(".") : [])];
  if (filtered === undefined) return { segments };
  // The filter is read as a resource filter on that attribute alone: `emails[type eq "work"]` keeps an entry
  // when {emails: [entry]} matches it.
  const holder = segments[urn ? 1 : 0]!;
  const matches = predicateOf(parseFilter(filtered), kind);
  const wrap = (entry: unknown): Json => (urn ? { [urn]: { [holder]: [entry] } } : { [holder]: [entry] });
  return { segments, keeps: (entry) => matches(wrap(entry)) };
}

/**
 * A request's attribute lists, parsed into canonical paths (names are case-insensitive: `NAME.givenName`).
 * The names were checked against the schema before (list-query's checkProjection).
 */
export function projectionOf(kind: ResourceKind, attributes?: string, excludedAttributes?: string): Projection {
  const parse = (list?: string) =>
    list
      ?.split(",")
      .map((n) => n.trim())
      .filter((n) => n.length > 0)
      .map((n) => projectedPath(kind, n));
  const include = parse(attributes);
  // RFC 7644 §3.4.2.5: with both given, `attributes` decides.
  return include && include.length > 0 ? { include } : { exclude: parse(excludedAttributes) };
}

/** A tree of the names a projection reaches: a leaf (true) takes the whole value below it. */
interface PathNode {
  whole: boolean;
  keeps?: (entry: unknown) => boolean;
  below: PathTree;
}
type PathTree = Map<string, PathNode>;

function treeOf(paths: ProjectedPath[]): PathTree {
  const root: PathTree = new Map();
  for (const { segments, keeps } of paths) {
    let level = root;
    segments.forEach((segment, i) => {
      const node: PathNode = level.get(segment) ?? { whole: false, below: new Map() };
      if (i === segments.length - 1) node.whole = true;
      if (keeps && i === (segments[0]!.startsWith("urn:") ? 1 : 0)) node.keeps = keeps;
      level.set(segment, node);
      level = node.below;
    });
  }
  return root;
}

function pickEntries(value: unknown, node: { keeps?: (entry: unknown) => boolean }): unknown {
  return node.keeps && Array.isArray(value) ? value.filter(node.keeps) : value;
}

/** What a projection leaves of an attribute that is not kept: nothing, or an empty list (an empty object stays, as in scimmy). */
function isEmpty(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0);
}

/** A list entry a projection emptied is left out of the list. */
function emptyEntry(entry: unknown): boolean {
  return isObject(entry) && Object.keys(entry).length === 0;
}

/** Keeps what `tree` names of `value` (an object, or a list of them, entry by entry). */
function keep(value: unknown, tree: PathTree): unknown {
  if (Array.isArray(value)) return value.map((entry) => keep(entry, tree)).filter((entry) => entry !== undefined && !emptyEntry(entry));
  if (!isObject(value)) return undefined;
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    const node = tree.get(key);
    if (!node) continue;
    const chosen = pickEntries(v, node);
    const kept = node.whole ? chosen : keep(chosen, node.below);
    if (!isEmpty(kept)) out[key] = kept;
  }
  return out;
}

/** Drops what `tree` names from `value` (an object, or a list of them, entry by entry). */
function drop(value: unknown, tree: PathTree): unknown {
  if (Array.isArray(value)) return value.map((entry) => drop(entry, tree)).filter((entry) => !emptyEntry(entry));
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    const node = tree.get(key);
    if (node?.whole && !ALWAYS.has(key)) continue;
    if (!node) out[key] = v;
    else {
      const kept = drop(v, node.below);
      if (!isEmpty(kept)) out[key] = kept;
    }
  }
  return out;
}

/** A rendered resource with a projection applied; `schemas` and `id` always stay. */
export function project(rendered: Json, projection: Projection): Json {
  if (projection.include) {
    const kept = keep(rendered, treeOf(projection.include)) as Json;
    const out: Json = {};
    for (const key of Object.keys(rendered)) if (ALWAYS.has(key) || key in kept) out[key] = ALWAYS.has(key) ? rendered[key] : kept[key];
    return out;
  }
  if (projection.exclude && projection.exclude.length > 0) return drop(rendered, treeOf(projection.exclude)) as Json;
  return rendered;
}

/** A view as the answer to one request: whole, then projected. */
export function renderResource(kind: ResourceKind, view: Json, location: string, projection: Projection = {}): Json {
  return project(renderWhole(kind, view, location), projection);
}

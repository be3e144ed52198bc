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

/** How one attribute goes out: its name, and for a complex one its sub-attributes in the schema's order. */
interface AttributeLayout {
  name: string;
  subs?: string[];
}

/** How a resource of a kind goes out, read from its schema once: attributes in order, then each extension's. */
interface ResourceLayout {
  core: string;
  attributes: AttributeLayout[];
  extensions: { id: string; attributes: AttributeLayout[] }[];
}

function layoutOf(attributes: Attribute[]): AttributeLayout[] {
  return attributes
    .filter((a) => returnable(a) && a.name !== "schemas")
    .map((a) => {
      const subs = a.subAttributes as Attribute[] | undefined;
      return subs ? { name: a.name, subs: subs.filter(returnable).map((sub) => sub.name) } : { name: a.name };
    });
}

const LAYOUTS = new Map<ResourceKind, ResourceLayout>();

function resourceLayout(kind: ResourceKind): ResourceLayout {
  let layout = LAYOUTS.get(kind);
  if (!layout) {
    const definition = definitionOf(kind);
    const all = definition.attributes as (Attribute | Definition)[];
    layout = {
      core: definition.id as string,
      attributes: layoutOf(all.filter((a): a is Attribute => a instanceof SCIMMY.Types.Attribute)),
      extensions: all
        .filter((a): a is Definition => a instanceof SCIMMY.Types.SchemaDefinition)
        .map((d) => ({ id: d.id as string, attributes: layoutOf(d.attributes as Attribute[]) })),
    };
    LAYOUTS.set(kind, layout);
  }
  return layout;
}

/** A stored complex value as it goes out: each entry's sub-attributes in the schema's order, others left out. */
function arranged(entry: unknown, subs: string[]): unknown {
  if (!isObject(entry)) return entry;
  const out: Json = {};
  for (const name of subs) if (entry[name] !== undefined) out[name] = entry[name];
  return out;
}

/** The attributes of `source` as they go out, in `attributes`' order, into `out`; answers whether any was there. */
function attributesOut(attributes: AttributeLayout[], source: Json, out: Json, location: string): boolean {
  let any = false;
  for (const { name, subs } of attributes) {
    const value = source[name];
    if (value === undefined || value === null) continue;
    any = true;
    if (name === "meta" && isObject(value)) out.meta = metaOut(value, location);
    else if (!subs) out[name] = value;
    else out[name] = Array.isArray(value) ? value.map((entry) => arranged(entry, subs)) : arranged(value, subs);
  }
  return any;
}

function metaOut(meta: Json, location: string): Json {
  const all: Json = { ...meta, location };
  const out: Json = {};
  for (const key of META_ORDER) if (all[key] !== undefined) out[key] = all[key];
  return out;
}

/** The schemas a resource lists: its core schema, each extension it has values for, then those it was written with. */
function schemasOf(core: string, view: Json, extensions: string[]): string[] {
  const written = Array.isArray(view.schemas) ? view.schemas.filter((s): s is string => typeof s === "string") : [];
  if (extensions.length === 0 && written.length === 1 && written[0] === core) return written;
  return [...new Set([core, ...extensions, ...written])];
}

/** A view (document, id, meta, derived attributes) as it goes out, whole: schema order, nothing coerced. */
export function renderWhole(kind: ResourceKind, view: Json, location: string): Json {
  const layout = resourceLayout(kind);
  const body: Json = {};
  attributesOut(layout.attributes, view, body, location);
  const present: string[] = [];
  for (const extension of layout.extensions) {
    const value = view[extension.id];
    const out: Json = {};
    if (isObject(value) && attributesOut(extension.attributes, value, out, location)) {
      body[extension.id] = out;
      present.push(extension.id);
    }
  }
  return { schemas: schemasOf(layout.core, view, present), ...body };
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

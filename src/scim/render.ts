/**
 * How a resource goes out. Every stored document was validated when it was written, so an answer is its
 * view laid out in the schema's attribute order, with `schemas` and `meta` filled in and the request's
 * `attributes` / `excludedAttributes` applied (RFC 7644 §3.4.2.5) — no per-attribute coercion on the way out.
 */
import SCIMMY from "scimmy";
import type { ResourceKind } from "../store/types";
import { parseFilter, predicateOf } from "../scim-model/filter";
import { canonicalAttributePath, definitionOf, splitUrn } from "../scim-model/schema";
import type { Json } from "../lib/json";

type Definition = InstanceType<typeof SCIMMY.Types.SchemaDefinition>;
type Attribute = InstanceType<typeof SCIMMY.Types.Attribute>;

/** One attribute a projection names: its canonical segments ([name, sub] or [urn, name, sub]) and value filter. */
interface ProjectedPath {
  segments: string[];
  /** `emails[type eq "work"]`: which entries of the attribute the path applies to. */
  matches?: (entry: unknown) => boolean;
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
  // The filter is read as a resource filter on that attribute alone: `emails[type eq "work"]` matches an entry
  // when {emails: [entry]} matches it.
  const holder = segments[urn ? 1 : 0]!;
  const predicate = predicateOf(parseFilter(filtered), kind);
  const wrap = (entry: unknown): Json => (urn ? { [urn]: { [holder]: [entry] } } : { [holder]: [entry] });
  return { segments, matches: (entry) => predicate(wrap(entry)) };
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

/**
 * A tree of the names a projection reaches. A node is taken whole, or by the names below it; a value
 * filter (`emails[type eq "work"].value`) adds a branch that applies only to the entries it matches.
 */
interface PathNode {
  whole: boolean;
  below: PathTree;
  filtered: { matches: (entry: unknown) => boolean; node: PathNode }[];
}
type PathTree = Map<string, PathNode>;

const emptyNode = (): PathNode => ({ whole: false, below: new Map(), filtered: [] });

/** The node for `segments` under `level`, made as needed; the last one taken whole when `whole`. */
function nodeAt(level: PathTree, segments: string[], whole = true): PathNode {
  let node = emptyNode();
  segments.forEach((segment, i) => {
    node = level.get(segment) ?? emptyNode();
    level.set(segment, node);
    if (whole && i === segments.length - 1) node.whole = true;
    level = node.below;
  });
  return node;
}

function treeOf(paths: ProjectedPath[]): PathTree {
  const root: PathTree = new Map();
  for (const { segments, matches } of paths) {
    if (!matches) {
      nodeAt(root, segments);
      continue;
    }
    // The filter belongs to the attribute: the first segment, or the second after an extension URN.
    const holder = segments[0]!.startsWith("urn:") ? 1 : 0;
    const attribute = nodeAt(root, segments.slice(0, holder + 1), false);
    const branch = emptyNode();
    if (segments.length > holder + 1) nodeAt(branch.below, segments.slice(holder + 1));
    else branch.whole = true;
    attribute.filtered.push({ matches, node: branch });
  }
  return root;
}

/** One node with the branches of the filters an entry matches merged in (a tree per entry). */
function forEntry(node: PathNode, entry: unknown): PathNode {
  const matching = node.filtered.filter((f) => f.matches(entry)).map((f) => f.node);
  if (matching.length === 0) return node;
  const below: PathTree = new Map(node.below);
  for (const branch of matching)
    for (const [key, sub] of branch.below) below.set(key, below.has(key) ? { ...sub, whole: sub.whole || below.get(key)!.whole } : sub);
  return { whole: node.whole || matching.some((m) => m.whole), below, filtered: [] };
}

/** What a projection leaves of an attribute that is not kept: nothing, or an empty list (an empty object stays, as in scimmy). */
function isEmpty(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0);
}

/** A list entry a projection emptied is left out of the list. */
function emptyEntry(entry: unknown): boolean {
  return entry === undefined || (isObject(entry) && Object.keys(entry).length === 0);
}

/** Keeps what `node` names of one attribute's value (entry by entry for a list). */
function keepValue(value: unknown, node: PathNode): unknown {
  if (Array.isArray(value)) {
    return value
      .map((entry) => {
        const effective = forEntry(node, entry);
        return effective.whole ? entry : keep(entry, effective.below);
      })
      .filter((entry) => !emptyEntry(entry));
  }
  return node.whole ? value : keep(value, node.below);
}

/** Keeps what `tree` names of an object. */
function keep(value: unknown, tree: PathTree): unknown {
  if (!isObject(value)) return undefined;
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    const node = tree.get(key);
    if (!node) continue;
    const kept = keepValue(v, node);
    if (!isEmpty(kept)) out[key] = kept;
  }
  return out;
}

/** Drops what `node` names from one attribute's value (entry by entry for a list); undefined: all of it. */
function dropValue(value: unknown, node: PathNode): unknown {
  if (node.whole) return undefined;
  if (Array.isArray(value)) {
    return value
      .map((entry) => {
        const effective = forEntry(node, entry);
        return effective.whole ? undefined : drop(entry, effective.below);
      })
      .filter((entry) => !emptyEntry(entry));
  }
  return drop(value, node.below);
}

/** Drops what `tree` names from an object; `schemas` and `id` always stay. */
function drop(value: unknown, tree: PathTree): unknown {
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    const node = tree.get(key);
    if (!node || ALWAYS.has(key)) {
      out[key] = v;
      continue;
    }
    const kept = dropValue(v, node);
    if (!isEmpty(kept)) out[key] = kept;
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

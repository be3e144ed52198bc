/**
 * SCIM filters (RFC 7644 §3.4.2.2): parsed by scim2-parse-filter, evaluated here against stored documents
 * with the schema's rules (caseExact, types, multi-valued attributes), and planned onto the store's indexes.
 */
import { parse, type Filter } from "scim2-parse-filter";
import type { IndexLookup, ResourceKind } from "./kinds";
import { InvalidScimInput } from "./invalid-input";
import { checkAttributePath, checkFilterText } from "./input-limits";
import { attributeInfo, splitUrn } from "./schema";

export type { Filter };

const OPERATORS = /^(eq|ne|co|sw|ew|gt|lt|ge|le)$/i;
const LITERAL = /^(true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?)$/;

/**
 * Microsoft's SCIM clients and test suite send unquoted comparison values (`name.familyName eq Employee`,
 * `meta.created gt 2015-10-10T14:38:21Z`). RFC 7644 wants them quoted; quote any bare word that is not a
 * JSON literal, outside quoted strings.
 */
export function quoteBareValues(text: string): string {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      tokens.push(text.slice(i, j + 1));
      i = j + 1;
    } else if (/[\s()[\]]/.test(text[i]!)) {
      tokens.push(text[i]!);
      i++;
    } else {
      let j = i;
      while (j < text.length && !/[\s()[\]"]/.test(text[j]!)) j++;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  const significant = (k: number, step: number): number => {
    for (let n = k + step; n >= 0 && n < tokens.length; n += step) if (!/^\s$/.test(tokens[n]!)) return n;
    return -1;
  };
  return tokens
    .map((token, k) => {
      if (token.startsWith('"') || /^[\s()[\]]$/.test(token) || LITERAL.test(token)) return token;
      const before = significant(k, -1);
      const isValue = before >= 0 && OPERATORS.test(tokens[before]!) && significant(before, -1) >= 0;
      return isValue ? JSON.stringify(token) : token;
    })
    .join("");
}

export function parseFilter(text: string): Filter {
  if (!text.trim()) throw new InvalidScimInput("invalidFilter", "The filter is empty.");
  checkFilterText(text);
  let filter: Filter;
  try {
    filter = parse(quoteBareValues(text));
  } catch (error) {
    // The parser's own words say where it stopped; an engine error (a RangeError) says nothing a person can use.
    const why = error instanceof SyntaxError || !(error instanceof Error) || error instanceof RangeError ? "" : `: ${error.message}`;
    throw new InvalidScimInput("invalidFilter", `The filter '${text.slice(0, 200)}' is not valid SCIM filter syntax (RFC 7644 §3.4.2.2)${why}`);
  }
  finishFilter(filter);
  return filter;
}

/**
 * A comparison value is a JSON string (RFC 7644 §3.4.2.2): `"CORP\\alice"` means CORP\alice and `"\u0041"`
 * means A. The parser undoes only `\"`; this undoes the rest. A value that is not valid JSON escaping (an IdP
 * that sent a lone backslash) is kept as sent.
 */
function decodeJsonString(value: string): string {
  if (!value.includes("\\")) return value;
  try {
    return JSON.parse(`"${value.replace(/"/g, '\\"')}"`) as string;
  } catch {
    return value;
  }
}

/**
 * Every attribute path a filter names, checked like any other attribute name, and its string values
 * decoded (an explicit stack: no recursion depth).
 */
function finishFilter(filter: Filter): void {
  const stack: Filter[] = [filter];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (f.op === "and" || f.op === "or") stack.push(...(f as { filters: Filter[] }).filters);
    else if (f.op === "not") stack.push((f as { filter: Filter }).filter);
    else {
      const path = f as { attrPath: string; valFilter?: Filter; compValue?: unknown };
      checkAttributePath(path.attrPath, "The filter", "invalidFilter");
      if (path.valFilter) stack.push(path.valFilter);
      if (typeof path.compValue === "string") path.compValue = decodeJsonString(path.compValue);
    }
  }
}

/** Where a filter is evaluated: the resource type, and the attribute a value filter (`emails[…]`) is inside of. */
export type Scope = { kind: ResourceKind; prefix: string };

/** The values an attribute path reaches in `node`: multi-valued attributes are flattened. */
function valuesAt(node: unknown, parts: string[]): unknown[] {
  if (parts.length === 0) return Array.isArray(node) ? node : [node];
  if (Array.isArray(node)) return node.flatMap((item) => valuesAt(item, parts));
  if (!node || typeof node !== "object") return [];
  const wanted = parts[0]!.toLowerCase();
  const key = Object.keys(node).find((k) => k.toLowerCase() === wanted);
  return key === undefined ? [] : valuesAt((node as Record<string, unknown>)[key], parts.slice(1));
}

export function pathParts(scope: Scope, attrPath: string): { parts: string[]; schemaPath: string } {
  const { urn, rest } = splitUrn(scope.kind, attrPath);
  const local = rest ? rest.split(".") : [];
  const parts = urn ? [urn, ...local] : local;
  const schemaPath = urn ? `${urn}:${rest}` : scope.prefix ? `${scope.prefix}.${rest}` : rest;
  return { parts, schemaPath };
}

/** A complex value compared directly (`emails co "x"`) stands for its `value` sub-attribute. */
function leaf(value: unknown): unknown {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>).value : value;
}

function compare(op: string, actual: unknown, expected: unknown, type: string, caseExact: boolean): boolean {
  if (actual === undefined || actual === null) return false;
  if (type === "boolean" || typeof actual === "boolean") {
    const want = typeof expected === "string" ? expected.toLowerCase() === "true" : expected;
    return op === "eq" ? actual === want : false;
  }
  if (type === "dateTime") {
    const a = instantOf(actual);
    const b = instantOf(expected);
    if (a === undefined || b === undefined) return false;
    return ordered(op, a, b);
  }
  if (typeof actual === "number" && typeof expected === "number") return ordered(op, actual, expected);
  if (expected === null) return false;
  const a = caseExact ? String(actual) : String(actual).toLowerCase();
  const b = caseExact ? String(expected) : String(expected).toLowerCase();
  switch (op) {
    case "co":
      return a.includes(b);
    case "sw":
      return a.startsWith(b);
    case "ew":
      return a.endsWith(b);
    default:
      return ordered(op, a, b);
  }
}

function ordered<T extends number | string>(op: string, a: T, b: T): boolean {
  switch (op) {
    case "eq":
      return a === b;
    case "gt":
      return a > b;
    case "ge":
      return a >= b;
    case "lt":
      return a < b;
    case "le":
      return a <= b;
    default:
      return false;
  }
}

function present(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

function evaluate(filter: Filter, node: unknown, scope: Scope): boolean {
  switch (filter.op) {
    case "and":
      return filter.filters.every((f) => evaluate(f, node, scope));
    case "or":
      return filter.filters.some((f) => evaluate(f, node, scope));
    case "not":
      return !evaluate(filter.filter, node, scope);
    case "[]": {
      const { parts, schemaPath } = pathParts(scope, filter.attrPath);
      const inner: Scope = { kind: scope.kind, prefix: schemaPath };
      return valuesAt(node, parts).some((element) => evaluate(filter.valFilter, element, inner));
    }
    case "pr": {
      const { parts } = pathParts(scope, filter.attrPath);
      return valuesAt(node, parts).some(present);
    }
    default: {
      const { parts, schemaPath } = pathParts(scope, filter.attrPath);
      const info = attributeInfo(scope.kind, schemaPath);
      const type = info?.type ?? "string";
      const caseExact = info?.caseExact ?? false;
      const values = valuesAt(node, parts).map(leaf);
      if (filter.op === "ne") return !values.some((v) => compare("eq", v, filter.compValue, type, caseExact));
      return values.some((v) => compare(filter.op.toLowerCase(), v, filter.compValue, type, caseExact));
    }
  }
}

/** A dateTime comparison value as an instant, or undefined when it is no date. */
export function instantOf(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Every attribute a filter names must be one the resource type's schemas define (an IdP whose matching
 * attribute is mis-mapped would otherwise read "no such user" and create a duplicate), and a dateTime is
 * compared with a date. Names are matched case-insensitively, as everywhere in SCIM.
 */
export function checkFilterAttributes(filter: Filter, kind: ResourceKind): void {
  const stack: { f: Filter; scope: Scope }[] = [{ f: filter, scope: { kind, prefix: "" } }];
  while (stack.length > 0) {
    const { f, scope } = stack.pop()!;
    switch (f.op) {
      case "and":
      case "or":
        for (const sub of f.filters) stack.push({ f: sub, scope });
        break;
      case "not":
        stack.push({ f: f.filter, scope });
        break;
      default: {
        const { schemaPath } = pathParts(scope, f.attrPath);
        const info = attributeInfo(kind, schemaPath);
        if (!info)
          throw new InvalidScimInput(
            "invalidFilter",
            `The filter names '${f.attrPath.slice(0, 100)}', which the ${kind} schemas do not define (see /Schemas).`,
          );
        if (f.op === "[]") stack.push({ f: f.valFilter, scope: { kind, prefix: schemaPath } });
        else if (f.op !== "pr" && info.type === "dateTime" && instantOf(f.compValue) === undefined)
          throw new InvalidScimInput(
            "invalidFilter",
            `${f.attrPath} is a dateTime: compare it with a date such as "2026-01-01T00:00:00Z", not ${JSON.stringify(f.compValue).slice(0, 60)}.`,
          );
      }
    }
  }
}

/** A predicate over a resource as SCIM shows it (document, id and meta). */
export function predicateOf(filter: Filter, kind: ResourceKind): (resource: Record<string, unknown>) => boolean {
  return (resource) => evaluate(filter, resource, { kind, prefix: "" });
}

const INDEXED: Record<ResourceKind, Record<string, IndexLookup["attribute"]>> = {
  User: { id: "id", username: "userName", externalid: "externalId", displayname: "displayName", "emails.value": "emails", emails: "emails" },
  Group: { id: "id", externalid: "externalId", displayname: "displayName" },
};

/**
 * The index lookups whose union holds every resource the filter can match, or undefined when some branch
 * needs a scan. The full filter is still applied to what the lookups return.
 */
export function indexLookupsOf(filter: Filter, kind: ResourceKind): IndexLookup[] | undefined {
  switch (filter.op) {
    case "eq": {
      if (typeof filter.compValue !== "string") return undefined;
      const attribute = INDEXED[kind][splitUrn(kind, filter.attrPath).rest.toLowerCase()];
      return attribute ? [{ attribute, value: filter.compValue }] : undefined;
    }
    case "[]": {
      if (splitUrn(kind, filter.attrPath).rest.toLowerCase() !== "emails" || kind !== "User") return undefined;
      const inner = filter.valFilter;
      const eqValue = (f: Filter): string | undefined =>
        f.op === "eq" && f.attrPath.toLowerCase() === "value" && typeof f.compValue === "string" ? f.compValue : undefined;
      const direct = eqValue(inner) ?? (inner.op === "and" ? inner.filters.map(eqValue).find((v) => v !== undefined) : undefined);
      return direct === undefined ? undefined : [{ attribute: "emails", value: direct }];
    }
    case "and": {
      for (const f of filter.filters) {
        const lookups = indexLookupsOf(f, kind);
        if (lookups) return lookups;
      }
      return undefined;
    }
    case "or": {
      const all: IndexLookup[] = [];
      for (const f of filter.filters) {
        const lookups = indexLookupsOf(f, kind);
        if (!lookups) return undefined;
        all.push(...lookups);
      }
      return all;
    }
    default:
      return undefined;
  }
}

/** The first value of an attribute path for sorting: the primary entry of a multi-valued attribute, else the first. */
export function sortValue(resource: Record<string, unknown>, kind: ResourceKind, path: string): unknown {
  const { parts, schemaPath } = pathParts({ kind, prefix: "" }, path);
  const [head, ...rest] = parts;
  if (head === undefined) return undefined;
  let top = valuesAt(resource, [head]);
  if (top.length > 1 || (attributeInfo(kind, head)?.multiValued ?? false)) {
    const primary = top.find((v) => v && typeof v === "object" && (v as Record<string, unknown>).primary === true);
    top = [primary ?? top[0]];
  }
  const values = valuesAt(top[0], rest).map(leaf);
  const value = values[0];
  const info = attributeInfo(kind, schemaPath);
  return typeof value === "string" && !(info?.caseExact ?? false) ? value.toLowerCase() : value;
}

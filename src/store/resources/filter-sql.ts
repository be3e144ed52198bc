/**
 * A SCIM filter as an SQL condition on the `resources` table, for SQLite (JSON functions on the document
 * text) and PostgreSQL (jsonb), with the semantics of the in-memory predicate (src/scim-model/filter.ts): the
 * schema's caseExact, multi-valued attributes matched element by element, a complex attribute compared
 * directly standing for its `value`, `pr`, `not`, dateTimes as instants. Every condition is true or false,
 * never NULL, so `not` reads as it does in memory. Documents are the ones the store wrote: attribute names as
 * the schemas spell them, arrays exactly where the schemas say multi-valued.
 *
 * What it cannot say the same way makes the whole filter untranslatable, and the store falls back to the
 * predicate: dateTimes in the document, and the meta the document does not hold (meta.version, meta.location:
 * only created, lastModified and resourceType have columns). Comparison values are always parameters.
 */
import type { Filter } from "scim2-parse-filter";
import { instantOf, pathParts, type Scope } from "../../scim-model/filter";
import { attributeInfo, type AttributeInfo } from "../../scim-model/schema";
import type { ResourceKind } from "../types";

/** Where a JSON value is: how each database spells reading it. */
interface JsonDialect {
  /** The document's root. */
  root: Location;
  /** The value under `key` of the object at `at`. */
  child(at: Location, key: string): Location;
  /** A condition over each element of the array at `at` (none when it is no array). */
  anyElement(at: Location, alias: string, condition: (element: Location) => string): string;
  /** The JSON type at `at`: object, array, text, true, false, null (SQL NULL when absent). */
  typeOf(at: Location): string;
  /** The value is JSON true (or false). */
  isBoolean(at: Location, value: boolean): string;
  /** A string value's text. */
  text(at: Location): string;
  /** A non-empty object / array test, for `pr`. */
  nonEmptyObject(at: Location): string;
  nonEmptyArray(at: Location): string;
  /** The text lowered as JavaScript's toLowerCase does (the predicate's rule for caseExact=false). */
  lower(text: string): string;
  /** Text comparisons in code-point order, whatever the database's collation. */
  ordered(a: string, op: string, b: string): string;
  contains(haystack: string, needle: string): string;
  startsWith(text: string, prefix: string): string;
  endsWith(text: string, suffix: string): string;
  param(value: unknown): string;
  /** A condition that is never NULL. */
  definite(condition: string): string;
  typeNames: { text: string; object: string; array: string; null: string };
}

/** A JSON location, as the dialect builds it: an SQL expression, and for SQLite the JSON path (`literal` when it is constant). */
type Location = { expr: string; path?: string; literal?: string };

const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** SQLite: locations are (document, JSON path) pairs; an array element's path is json_each's fullkey. */
function sqliteJson(params: unknown[]): JsonDialect {
  const path = (at: Location) => at.path ?? "'$'";
  return {
    root: { expr: "doc", path: "'$'", literal: "$" },
    child: (at, key) =>
      at.literal !== undefined
        ? { expr: at.expr, path: sqlString(`${at.literal}."${key}"`), literal: `${at.literal}."${key}"` }
        : { expr: at.expr, path: `${path(at)} || ${sqlString(`."${key}"`)}` },
    anyElement: (at, alias, condition) =>
      `EXISTS (SELECT 1 FROM json_each(${at.expr}, ${path(at)}) AS ${alias} WHERE json_type(${at.expr}, ${path(at)}) = 'array' AND ${condition({ expr: at.expr, path: `${alias}.fullkey` })})`,
    typeOf: (at) => `json_type(${at.expr}, ${path(at)})`,
    isBoolean: (at, value) => `json_type(${at.expr}, ${path(at)}) = '${value}'`,
    text: (at) => `json_extract(${at.expr}, ${path(at)})`,
    nonEmptyObject: (at) => `json_extract(${at.expr}, ${path(at)}) <> '{}'`,
    nonEmptyArray: (at) => `json_array_length(${at.expr}, ${path(at)}) > 0`,
    lower: (text) => `scim_lower(${text})`,
    ordered: (a, op, b) => `${a} ${op} ${b}`,
    contains: (h, n) => `instr(${h}, ${n}) > 0`,
    startsWith: (t, p) => `substr(${t}, 1, length(${p})) = ${p}`,
    endsWith: (t, s) => `(length(${t}) >= length(${s}) AND substr(${t}, length(${t}) - length(${s}) + 1) = ${s})`,
    // Named (a value can be read twice, as by sw and ew); the condition's params are then one object of them.
    param: (value) => {
      params.push(value);
      return `@f${params.length - 1}`;
    },
    definite: (condition) => `COALESCE((${condition}), 0)`,
    typeNames: { text: "'text'", object: "'object'", array: "'array'", null: "'null'" },
  };
}

/** PostgreSQL: locations are jsonb expressions. */
function postgresJson(params: unknown[], firstParam: number): JsonDialect {
  return {
    root: { expr: "doc" },
    child: (at, key) => ({ expr: `(${at.expr} -> ${sqlString(key)})` }),
    anyElement: (at, alias, condition) =>
      `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${at.expr}) = 'array' THEN ${at.expr} ELSE '[]'::jsonb END) AS ${alias}(v) WHERE ${condition({ expr: `${alias}.v` })})`,
    typeOf: (at) => `jsonb_typeof(${at.expr})`,
    isBoolean: (at, value) => `${at.expr} = '${value}'::jsonb`,
    text: (at) => `(${at.expr} #>> '{}')`,
    nonEmptyObject: (at) => `${at.expr} <> '{}'::jsonb`,
    nonEmptyArray: (at) => `jsonb_array_length(${at.expr}) > 0`,
    lower: (text) => `lower(${text})`,
    ordered: (a, op, b) => `${a} COLLATE "C" ${op} ${b}`,
    contains: (h, n) => `strpos(${h}, ${n}) > 0`,
    startsWith: (t, p) => `left(${t}, length(${p})) = ${p}`,
    endsWith: (t, s) => `right(${t}, length(${s})) = ${s}`,
    param: (value) => {
      params.push(value);
      return `$${firstParam + params.length - 1}::text`;
    },
    definite: (condition) => `COALESCE((${condition}), false)`,
    typeNames: { text: "'string'", object: "'object'", array: "'array'", null: "'null'" },
  };
}

/** Thrown inside the translation for what only the predicate can evaluate. */
class Untranslatable extends Error {}

/** Columns that hold what the view adds to the document (id and meta). */
const COLUMN_OF: Record<string, { column: string; type: "string" | "dateTime" }> = {
  id: { column: "id", type: "string" },
  "meta.created": { column: "created", type: "dateTime" },
  "meta.lastmodified": { column: "last_modified", type: "dateTime" },
  "meta.resourcetype": { column: "kind", type: "string" },
};

const ORDERING: Record<string, string> = { eq: "=", gt: ">", ge: ">=", lt: "<", le: "<=" };

/** One segment of an attribute path, as the document spells it. */
interface PathSegment {
  key: string;
  multiValued: boolean;
}

class Translation {
  private aliases = 0;
  constructor(
    private readonly d: JsonDialect,
    private readonly kind: ResourceKind,
  ) {}

  filter(f: Filter, scope: Scope, at: Location): string {
    switch (f.op) {
      case "and":
      case "or":
        return `(${f.filters.map((sub) => this.filter(sub, scope, at)).join(f.op === "and" ? " AND " : " OR ")})`;
      case "not":
        return `(NOT ${this.filter(f.filter, scope, at)})`;
      case "[]": {
        const { steps, info, schemaPath } = this.path(scope, f.attrPath);
        if (!info) throw new Untranslatable();
        const inner: Scope = { kind: this.kind, prefix: schemaPath };
        return this.d.definite(this.values(at, steps, (v) => `(${this.d.typeOf(v)} = ${this.d.typeNames.object} AND ${this.filter(f.valFilter, inner, v)})`));
      }
      default:
        return this.d.definite(this.leaf(f as Extract<Filter, { attrPath: string }> & { op: string; compValue?: unknown }, scope, at));
    }
  }

  /** The document keys of an attribute path, each with whether it holds an array. */
  private path(scope: Scope, attrPath: string): { steps: PathSegment[]; info?: AttributeInfo; schemaPath: string } {
    const { parts, schemaPath } = pathParts(scope, attrPath);
    const urn = parts[0]?.startsWith("urn:") ? parts[0] : undefined;
    const local = urn ? parts.slice(1) : parts;
    // Stored documents hold no meta: what no column answers is the predicate's (it reads the view).
    if (!urn && !scope.prefix && local[0]?.toLowerCase() === "meta") throw new Untranslatable();
    const steps: PathSegment[] = urn ? [{ key: urn, multiValued: false }] : [];
    let prefix = urn ? `${urn}:` : scope.prefix ? `${scope.prefix}.` : "";
    for (const part of local) {
      const info = attributeInfo(this.kind, `${prefix}${part}`);
      if (!info) throw new Untranslatable();
      steps.push({ key: info.name, multiValued: info.multiValued });
      prefix = `${prefix}${part}.`;
    }
    return { steps, info: attributeInfo(this.kind, schemaPath), schemaPath };
  }

  /** `condition` holds for some value the path reaches (arrays flattened, as the predicate's valuesAt does). */
  private values(at: Location, steps: PathSegment[], condition: (v: Location) => string): string {
    const [head, ...rest] = steps;
    if (!head) return condition(at);
    const next = this.d.child(at, head.key);
    if (!head.multiValued) return this.values(next, rest, condition);
    return this.d.anyElement(next, `e${this.aliases++}`, (element) => this.values(element, rest, condition));
  }

  private leaf(f: { op: string; attrPath: string; compValue?: unknown }, scope: Scope, at: Location): string {
    const op = f.op.toLowerCase();
    const column = scope.prefix === "" && at === this.d.root ? COLUMN_OF[this.canonical(f.attrPath)] : undefined;
    if (column) return this.column(op, column, f.compValue);
    const { steps, info } = this.path(scope, f.attrPath);
    if (!info || info.type === "dateTime" || steps.length === 0) throw new Untranslatable();
    if (op === "pr") return this.values(at, steps, (v) => this.present(v));
    // A complex value compared directly stands for its `value` sub-attribute.
    const compared = (v: Location) => (info.type === "complex" ? this.d.child(v, "value") : v);
    if (op === "ne") return `NOT ${this.d.definite(this.values(at, steps, (v) => this.compare("eq", compared(v), info, f.compValue)))}`;
    return this.values(at, steps, (v) => this.compare(op, compared(v), info, f.compValue));
  }

  private canonical(attrPath: string): string {
    return attrPath.toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/, "");
  }

  private column(op: string, { column, type }: { column: string; type: "string" | "dateTime" }, value: unknown): string {
    if (op === "pr") return "1 = 1";
    const eq = op === "ne" ? "eq" : op;
    let condition: string;
    if (type === "dateTime") {
      const instant = instantOf(value);
      // Stored times are toISOString() text: their order is the instants' order.
      condition = instant === undefined || !ORDERING[eq] ? "1 = 0" : this.d.ordered(column, ORDERING[eq]!, this.d.param(new Date(instant).toISOString()));
    } else condition = value === null ? "1 = 0" : this.stringCompare(eq, column, String(value), true);
    return op === "ne" ? `NOT (${condition})` : condition;
  }

  private compare(op: string, v: Location, info: AttributeInfo, expected: unknown): string {
    const exists = `${this.d.typeOf(v)} IS NOT NULL AND ${this.d.typeOf(v)} <> ${this.d.typeNames.null}`;
    if (info.type === "boolean") {
      const want = typeof expected === "string" ? expected.toLowerCase() === "true" : expected;
      if (op !== "eq" || typeof want !== "boolean") return "1 = 0";
      return this.d.isBoolean(v, want);
    }
    if (expected === null || typeof expected === "object") return "1 = 0";
    return `(${exists} AND ${this.stringCompare(op, this.d.text(v), String(expected), info.caseExact)})`;
  }

  private stringCompare(op: string, actual: string, expected: string, caseExact: boolean): string {
    const a = caseExact ? actual : this.d.lower(actual);
    const b = this.d.param(caseExact ? expected : expected.toLowerCase());
    switch (op) {
      case "co":
        return this.d.contains(a, b);
      case "sw":
        return this.d.startsWith(a, b);
      case "ew":
        return this.d.endsWith(a, b);
      default:
        return ORDERING[op] ? this.d.ordered(a, ORDERING[op]!, b) : "1 = 0";
    }
  }

  /** The predicate's `present`: not absent, null or empty (string, object, array). */
  private present(v: Location): string {
    const t = this.d.typeOf(v);
    const n = this.d.typeNames;
    return `(CASE ${t} WHEN ${n.text} THEN ${this.d.text(v)} <> '' WHEN ${n.object} THEN ${this.d.nonEmptyObject(v)} WHEN ${n.array} THEN ${this.d.nonEmptyArray(v)} WHEN ${n.null} THEN 1 = 0 ELSE ${t} IS NOT NULL END)`;
  }
}

export interface SqlCondition {
  sql: string;
  params: unknown[];
}

function translate(dialect: (params: unknown[]) => JsonDialect, filter: Filter, kind: ResourceKind): SqlCondition | undefined {
  const params: unknown[] = [];
  const d = dialect(params);
  try {
    return { sql: new Translation(d, kind).filter(filter, { kind, prefix: "" }, d.root), params };
  } catch (error) {
    if (error instanceof Untranslatable) return undefined;
    throw error;
  }
}

/** The filter as a SQLite condition (its params: one object of named values; needs the scim_lower function), or undefined. */
export function sqliteCondition(filter: Filter, kind: ResourceKind): SqlCondition | undefined {
  const condition = translate(sqliteJson, filter, kind);
  return condition && { sql: condition.sql, params: [Object.fromEntries(condition.params.map((value, i) => [`f${i}`, value]))] };
}

/** The filter as a PostgreSQL condition whose parameters are numbered from `firstParam`, or undefined. */
export function postgresCondition(filter: Filter, kind: ResourceKind, firstParam: number): SqlCondition | undefined {
  return translate((params) => postgresJson(params, firstParam), filter, kind);
}

/** A filter whose only conjunct that narrows is a time range on meta.lastModified or meta.created: the index answers it. */
export function timeRangeOf(filter: Filter): boolean {
  const isRange = (f: Filter) => "attrPath" in f && ["gt", "ge", "lt", "le"].includes(f.op.toLowerCase()) && /^meta\.(lastmodified|created)$/i.test(f.attrPath);
  return isRange(filter) || (filter.op === "and" && filter.filters.some(isRange));
}

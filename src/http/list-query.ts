/** List parameters (RFC 7644 §3.4.2): filter, sortBy/sortOrder, startIndex/count as integers, capped by maxResults. */
import type { ListRequest } from "../scim/context";
import { ScimError } from "../scim/errors";
import { checkFilterAttributes, indexLookupsOf, parseFilter, predicateOf, sortValue } from "../scim-model/filter";
import { checkAttributeList } from "../scim-model/input-limits";
import { attributeInfo } from "../scim-model/schema";
import { baseView } from "../scim/views";
import type { ResourceKind, SortColumn } from "../store/types";

export interface ListParams {
  filter?: string;
  sortBy?: string;
  sortOrder?: string;
  startIndex?: string | number;
  count?: string | number;
  attributes?: string;
  excludedAttributes?: string;
}

/** The first value of a query parameter (express gives arrays for repeats), as a string. */
export function param(query: Record<string, unknown>, name: string): string | undefined {
  const key = Object.keys(query).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : query[key];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === null ? undefined : String(first);
}

function integer(name: string, value: string | number | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n))
    throw new ScimError(400, "invalidValue", `${name} must be an integer (at most ${Number.MAX_SAFE_INTEGER}), not '${String(value).slice(0, 40)}'.`);
  return n;
}

/** A Map, not an object: a sortBy such as `constructor` must not find an inherited member. */
const SORT_COLUMNS = new Map<string, SortColumn>([
  ["id", "id"],
  ["username", "userName"],
  ["displayname", "displayName"],
  ["externalid", "externalId"],
  ["meta.created", "created"],
  ["meta.lastmodified", "lastModified"],
]);

/** Each name of an attributes list must be one the resource type's schema has (a value filter narrows, it names nothing new). */
function checkKnown(kind: ResourceKind, list: string, what: string): void {
  for (const item of list.split(",")) {
    const name = item.trim();
    const open = name.indexOf("[");
    const close = name.lastIndexOf("]");
    const path = open < 0 ? name : name.slice(0, open) + (close > open ? name.slice(close + 1) : "");
    // A value filter must be one: `emails[value]` is not, and scimmy would fail on it with exception text.
    if (open >= 0) parseFilter(name.slice(0, close > open ? close + 1 : undefined));
    if (!attributeInfo(kind, path))
      throw new ScimError(400, "invalidValue", `${what} names '${name.slice(0, 100)}', which the ${kind} schema does not have (see /Schemas).`);
  }
}

/** attributes, excludedAttributes and sortBy name attributes only; checked before anything builds objects from them. */
export function checkProjection(kind: ResourceKind, params: Pick<ListParams, "attributes" | "excludedAttributes" | "sortBy">): void {
  for (const what of ["attributes", "excludedAttributes"] as const) {
    const list = params[what];
    if (list === undefined) continue;
    checkAttributeList(list, what);
    checkKnown(kind, list, what);
  }
  if (params.sortBy !== undefined) checkAttributeList(params.sortBy, "sortBy");
}

export function listRequestOf(kind: ResourceKind, params: ListParams, limits: { maxResults: number; defaultCount: number }): ListRequest {
  // RFC 7644 §3.4.2.4: startIndex below 1 is 1; a negative count is 0; count is capped by maxResults.
  checkProjection(kind, params);
  const startIndex = Math.max(1, integer("startIndex", params.startIndex) ?? 1);
  const count = Math.min(limits.maxResults, Math.max(0, integer("count", params.count) ?? limits.defaultCount));
  const request: ListRequest = { startIndex, count };
  if (params.filter !== undefined) {
    const ast = parseFilter(params.filter);
    checkFilterAttributes(ast, kind);
    const predicate = predicateOf(ast, kind);
    request.filter = (r) => predicate(baseView(r));
    request.lookups = indexLookupsOf(ast, kind);
    request.expression = ast;
  }
  if (params.sortBy) {
    const order = (params.sortOrder ?? "ascending").toLowerCase();
    if (order !== "ascending" && order !== "descending")
      throw new ScimError(400, "invalidValue", `sortOrder must be 'ascending' or 'descending', not '${params.sortOrder}'.`);
    const descending = order === "descending";
    const column = SORT_COLUMNS.get(params.sortBy.toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/, ""));
    const sortBy = params.sortBy;
    request.sort = column ? { column, descending } : { key: (r) => sortValue(baseView(r), kind, sortBy), descending };
  }
  return request;
}

/** Whether a read should load group members: not when the request's attributes leave them out. */
export function wantsMembers(params: ListParams): boolean {
  const names = (list?: string) =>
    (list ?? "").split(",").map((a) =>
      a
        .trim()
        .toLowerCase()
        .replace(/^urn:ietf:params:scim:schemas:core:2\.0:group:/, ""),
    );
  if (params.attributes) return names(params.attributes).some((a) => a === "members" || a.startsWith("members.") || a.startsWith("members["));
  if (params.excludedAttributes) return !names(params.excludedAttributes).includes("members");
  return true;
}

export function listParamsOf(query: Record<string, unknown>): ListParams {
  return {
    filter: param(query, "filter"),
    sortBy: param(query, "sortBy"),
    sortOrder: param(query, "sortOrder"),
    startIndex: param(query, "startIndex"),
    count: param(query, "count"),
    attributes: param(query, "attributes"),
    excludedAttributes: param(query, "excludedAttributes"),
  };
}

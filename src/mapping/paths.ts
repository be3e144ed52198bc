/**
 * SCIM paths as mapping files write them: `userName`, `name.givenName`, `emails[primary eq true].value`,
 * `phoneNumbers[type eq "mobile"].value`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
 */
import { parseFilter, predicateOf } from "../scim-model/filter";
import { attributeInfo, attributePaths } from "../scim-model/schema";
import type { Json } from "../lib/json";

const SEGMENT = /^([A-Za-z$][\w$-]*)(?:\[(.+)\])?(?:\.([A-Za-z$][\w$-]*))?$/;

function child(node: unknown, name: string): unknown {
  if (!node || typeof node !== "object" || Array.isArray(node)) return undefined;
  const key = Object.keys(node).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : (node as Json)[key];
}

export function isValidPath(path: string): boolean {
  try {
    splitPath(path);
    return true;
  } catch {
    return false;
  }
}

function splitPath(path: string): { urn?: string; attr: string; filter?: string; sub?: string } {
  let rest = path.trim();
  let urn: string | undefined;
  if (/^urn:/i.test(rest)) {
    const bracket = rest.indexOf("[");
    const head = bracket >= 0 ? rest.slice(0, bracket) : rest;
    const cut = head.lastIndexOf(":");
    urn = rest.slice(0, cut);
    rest = rest.slice(cut + 1);
  }
  const match = SEGMENT.exec(rest);
  if (!match) throw new Error(`'${path}' is not a SCIM attribute path`);
  if (match[2] !== undefined) parseFilter(match[2]);
  return { urn, attr: match[1]!, filter: match[2], sub: match[3] };
}

/** Every value the path reaches, in document order (empty when none). */
export function resolvePath(resource: Json, path: string): unknown[] {
  const { urn, attr, filter, sub } = splitPath(path);
  const base = urn ? child(resource, urn) : resource;
  const value = child(base, attr);
  let values = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  if (filter !== undefined) {
    const matches = predicateOf(parseFilter(filter), "User");
    values = values.filter((v) => v && typeof v === "object" && matches(v as Json));
  }
  if (sub !== undefined) values = values.map((v) => child(v, sub));
  return values.filter((v) => v !== undefined && v !== null && v !== "");
}

/** Edit distance (case-insensitive): how far a misspelt name is from a real one. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[y.length]!;
}

/**
 * Why a path names no attribute of the SCIM resource's schema (User: core and enterprise extension; Group),
 * with the nearest real name; undefined when it names one. The value filter narrows and is not part of the name.
 */
export function unknownAttribute(path: string, kind: "User" | "Group" = "User"): string | undefined {
  const { urn, attr, sub } = splitPath(path);
  const name = `${urn ? `${urn}:` : ""}${attr}${sub ? `.${sub}` : ""}`;
  if (attributeInfo(kind, name)) return undefined;
  const nearest = attributePaths(kind).sort((a, b) => distance(name, a) - distance(name, b))[0];
  return `'${path}' names no attribute of the SCIM ${kind} schema${nearest ? ` (did you mean '${nearest}'?)` : ""}`;
}

/**
 * What a request may name and how large it may be, checked before scimmy or any normaliser sees it.
 *
 * Attribute names reach code that builds nested objects from them (scimmy's attribute projection, sort
 * keys, PATCH paths): a segment such as `__proto__`, `constructor` or `prototype` would reach
 * Object.prototype, which every request shares. They are refused everywhere a name can arrive, and every
 * size that a normaliser walks is bounded, so no input costs more than linear time or a deep stack.
 */
import { InvalidScimInput } from "./invalid-input";

export const LIMITS = {
  /** Characters in one PATCH path or one key of a path-less PATCH value. */
  pathLength: 1024,
  /** Characters in a filter (the longest an IdP sends is a few hundred). */
  filterLength: 8192,
  /** Characters in an attributes / excludedAttributes list or a sortBy. */
  attributeListLength: 4096,
  /** Nesting of arrays and objects in a request body (SCIM resources need fewer than ten). */
  jsonDepth: 32,
  /** Nesting of parentheses and brackets in a filter: the filter parser recurses once per level. */
  filterDepth: 32,
  /**
   * Entries of one multi-valued attribute (emails, phoneNumbers …) or one PATCH's operations: scimmy
   * coerces every entry on every write of the resource, synchronously. Group members are exempt: they
   * are rows, and no PATCH has them coerced as one list (bulk adds take the membership fast path).
   */
  valuesPerAttribute: 100,
  operationsPerPatch: 1000,
} as const;

/** Names that reach Object.prototype when used as a key: never an attribute of any SCIM schema. */
const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

/** One attribute name (RFC 7643 §2.1 ATTRNAME, with `$ref`). */
const ATTRIBUTE_NAME = /^\$?[A-Za-z][A-Za-z0-9_$-]*$/;

export function isForbiddenKey(key: string): boolean {
  // (by length first: a body's keys are checked one by one, tens of thousands for a large member list)
  return (key.length === 9 || key.length === 11) && FORBIDDEN.has(key.toLowerCase());
}

function tooLong(what: string, limit: number): InvalidScimInput {
  return new InvalidScimInput("invalidValue", `${what} is longer than this bridge accepts (${limit} characters).`);
}

/**
 * Checks one attribute path ("name.givenName", "urn:…:User:manager.value"): every dotted segment after
 * the schema URN must be an attribute name, and none may be a name that reaches Object.prototype.
 */
export function checkAttributePath(path: string, what: string, scimType: "invalidValue" | "invalidPath" | "invalidFilter" = "invalidValue"): void {
  const trimmed = path.trim();
  const local = trimmed.slice(trimmed.lastIndexOf(":") + 1);
  const segments = local.split(".");
  for (const segment of segments) {
    if (isForbiddenKey(segment)) throw new InvalidScimInput(scimType, `${what} names '${segment}', which is not an attribute of any SCIM schema.`);
    if (!ATTRIBUTE_NAME.test(segment))
      throw new InvalidScimInput(
        scimType,
        `${what} '${trimmed.slice(0, 100)}' is not an attribute path (names such as userName or name.givenName, optionally after a schema URN).`,
      );
  }
  // The URN part may hold digits ("2.0") but never a forbidden name either.
  for (const part of trimmed.slice(0, trimmed.length - local.length).split(/[:.]/))
    if (isForbiddenKey(part)) throw new InvalidScimInput(scimType, `${what} names '${part}', which is not an attribute of any SCIM schema.`);
}

/** A comma-separated attributes / excludedAttributes list, or a sortBy. */
export function checkAttributeList(text: string, what: string): void {
  if (text.length > LIMITS.attributeListLength) throw tooLong(what, LIMITS.attributeListLength);
  for (const name of text.split(",")) {
    if (!name.trim()) throw new InvalidScimInput("invalidValue", `${what} has an empty attribute name; list names separated by commas.`);
    // Some clients narrow a multi-valued attribute with a value filter: emails[type eq "work"].
    if (name.includes("[")) checkPatchPath(name, what, "invalidValue");
    else checkAttributePath(name, what);
  }
}

/**
 * A PATCH path (or a key of a path-less value, or a name in an attributes list): its length, and the
 * attribute names outside and inside its value filter. Backslashes and control characters are refused in
 * these paths: the two lexers behind them (scimmy's and the filter parser's) disagree about escapes, which
 * would let a quoted value hide an attribute name from this check, and both take exponential time on long
 * runs of them. No IdP sends escapes in a PATCH path (member ids, type names and emails need none).
 */
export function checkPatchPath(path: string, what = "The PATCH path", scimType: "invalidPath" | "invalidValue" = "invalidPath"): void {
  if (path.length > LIMITS.pathLength) throw tooLong(what, LIMITS.pathLength);
  if (/[\\\u0000-\u001f]/.test(path))
    throw new InvalidScimInput(scimType, `${what} has a backslash or a control character; write the value filter without escapes.`);
  const open = path.indexOf("[");
  const close = path.lastIndexOf("]");
  const names = open < 0 ? [path] : [path.slice(0, open), close > open ? path.slice(close + 1).replace(/^\./, "") : ""];
  for (const name of names) if (name.trim()) checkAttributePath(name, what, scimType);
  if (open >= 0) {
    // Inside the filter, attribute names are the words before an operator; quoted values are left alone.
    for (const word of path
      .slice(open + 1, close > open ? close : undefined)
      .replace(/"[^"]*"/g, "")
      .split(/[^A-Za-z0-9_$]+/))
      if (isForbiddenKey(word)) throw new InvalidScimInput(scimType, `${what} names '${word}', which is not an attribute of any SCIM schema.`);
  }
}

/**
 * What a filter must be before the parser sees it: bounded in length, free of raw control characters (a
 * JSON string escapes them; raw newlines drive the parser's tokenizer exponential), every quoted string
 * closed, and parentheses and brackets nested at most LIMITS.filterDepth deep (the parser recurses per
 * level). One linear pass.
 */
export function checkFilterText(text: string): void {
  if (text.length > LIMITS.filterLength)
    throw new InvalidScimInput("invalidFilter", `The filter is longer than this bridge accepts (${LIMITS.filterLength} characters).`);
  if (/[\u0000-\u001f]/.test(text))
    throw new InvalidScimInput("invalidFilter", "The filter has a control character (a raw newline or tab); escape it inside the quoted value (\\n).");
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (j >= text.length) throw new InvalidScimInput("invalidFilter", "The filter has a quoted value that is never closed.");
      i = j;
    } else if (c === "(" || c === "[") {
      if (++depth > LIMITS.filterDepth)
        throw new InvalidScimInput("invalidFilter", `The filter nests parentheses or brackets deeper than this bridge accepts (${LIMITS.filterDepth} levels).`);
    } else if (c === ")" || c === "]") depth--;
  }
}

/** A list in a body: members unbounded (rows, not coerced), operations and other attributes' values bounded. */
function checkListSize(key: string, list: unknown[], parent: Record<string, unknown>): void {
  const lower = key.toLowerCase();
  if (lower === "members") return;
  // A PATCH value for `members` (or any path naming them) is a member list too.
  if (lower === "value" && typeof parent.path === "string" && /^\s*members\b/i.test(parent.path)) return;
  const limit = lower === "operations" ? LIMITS.operationsPerPatch : LIMITS.valuesPerAttribute;
  if (list.length > limit)
    throw new InvalidScimInput("invalidValue", `'${key}' has ${list.length} entries; this bridge accepts at most ${limit} in one attribute or request.`);
}

/**
 * A parsed JSON body: nesting within LIMITS.jsonDepth, and no key that reaches Object.prototype. Walks
 * with an explicit stack, so a hostile depth cannot overflow the call stack here either.
 */
export function checkJsonShape(body: unknown): void {
  // Two parallel stacks (node, its depth): no pair allocated per value of a 20,000-member body.
  const nodes: unknown[] = [body];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop();
    const depth = depths.pop()!;
    if (!node || typeof node !== "object") continue;
    if (depth > LIMITS.jsonDepth)
      throw new InvalidScimInput("invalidSyntax", `The request body nests arrays and objects deeper than this bridge accepts (${LIMITS.jsonDepth} levels).`);
    if (Array.isArray(node)) {
      for (const item of node) {
        if (!item || typeof item !== "object") continue;
        nodes.push(item);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const key of Object.keys(node)) {
      if (isForbiddenKey(key)) throw new InvalidScimInput("invalidSyntax", `The request body has the key '${key}', which no SCIM resource or message has.`);
      if (key.length > LIMITS.pathLength) throw tooLong("A key of the request body", LIMITS.pathLength);
      const value = (node as Record<string, unknown>)[key];
      if (!value || typeof value !== "object") continue;
      if (Array.isArray(value)) checkListSize(key, value, node as Record<string, unknown>);
      nodes.push(value);
      depths.push(depth + 1);
    }
  }
}

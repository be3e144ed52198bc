/**
 * A mapping file compiled once at start: `build(operation, input)` turns a SCIM user into the parameters of
 * one vendor call, after checking every value against the vendor's rules. A violation names the SCIM
 * attribute and the vendor's rule, so the IdP admin can fix the user or the mapping.
 */
import { randomInt } from "node:crypto";
import { FileValidationError, loadYamlFile } from "../config/yaml-file";
import { MappingSchema, type FieldSpec, type MappingFile, type OperationSpec } from "./schema";
import { isValidPath, resolvePath, unknownAttribute } from "./paths";
import { applyTransform, templatePaths, TransformError } from "./transforms";
import type { BuiltCall } from "../vendors/types";
import type { Json } from "../lib/json";
import { ownEntry } from "../lib/own-entry";

export type { BuiltCall };

export interface BuildInput {
  /** The SCIM user as stored (id included). */
  user: Json;
  /** The target's values for the mapping's ${NAME} settings. */
  settings: Record<string, string>;
  /** ISO country for phone numbers with no country code. */
  phoneRegion?: string;
  /** The password the IdP sent with this request, if any. */
  password?: string;
  /** The create call's parameters (for `param:` fields of later calls). */
  created?: Json;
  /** The vendor's key for the user, once known. */
  vendorKey?: string;
  /** The vendor ids of the user's groups (fields with `groups:`). */
  groups?: string[];
  /** The vendor id of the group a group operation acts on. */
  groupKey?: string;
}

export interface Violation {
  param: string;
  scimAttribute?: string;
  message: string;
}

export class MappingViolationError extends Error {
  constructor(readonly violations: Violation[]) {
    super(violations.map((v) => `${v.scimAttribute ?? v.param}: ${v.message}`).join("; "));
    this.name = "MappingViolationError";
  }
}

const SETTING = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function substituteSettings(value: unknown, settings: Record<string, string>): unknown {
  return typeof value === "string" ? value.replace(SETTING, (_, name: string) => ownEntry(settings, name) ?? "") : value;
}

const CLASSES: Record<string, string> = {
  upper: "ABCDEFGHJKLMNPQRSTUVWXYZ",
  lower: "abcdefghijkmnopqrstuvwxyz",
  digit: "23456789",
};

/** A crypto-random password with at least one character of each required class, shuffled. */
export function generatePassword(rule: NonNullable<MappingFile["passwordRule"]>): string {
  const pools = rule.classes.map((c) => (c === "special" ? rule.special : CLASSES[c]!));
  const all = pools.join("");
  const chars = pools.map((pool) => pool[randomInt(pool.length)]!);
  while (chars.length < rule.length) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join("");
}

interface Scope {
  input: BuildInput;
  node: Json;
  file: MappingFile;
}

function sourceOf(spec: FieldSpec): string | undefined {
  return spec.from ?? spec.items?.from ?? (spec.generate ? "password" : undefined);
}

/** The values a field reads; a violation of one of its own fields (object, items) is `param.field`'s. */
function rawValue(param: string, spec: FieldSpec, scope: Scope, violations: Violation[]): unknown[] {
  if (spec.const !== undefined) return [substituteSettings(spec.const, scope.input.settings)];
  if (spec.key) return scope.input.vendorKey === undefined ? [] : [scope.input.vendorKey];
  if (spec.groupKey) return scope.input.groupKey === undefined ? [] : [scope.input.groupKey];
  if (spec.groups) {
    const ids = scope.input.groups ?? [];
    if (spec.groups === true) return ids;
    const each = spec.groups.each;
    return ids.map((id) => fillId(each, id));
  }
  if (spec.param !== undefined) {
    const v = scope.input.created?.[spec.param];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  }
  if (spec.generate === "password") {
    if (scope.input.password) return [scope.input.password];
    return [generatePassword(scope.file.passwordRule ?? { length: 16, classes: ["upper", "lower", "digit", "special"], special: "!@#$%^*-_=+" })];
  }
  if (spec.object) {
    const out: Json = {};
    for (const [name, field] of Object.entries(spec.object)) {
      const v = valueOf(`${param}.${name}`, field, scope, violations);
      if (v !== undefined && v !== SKIP) out[name] = v;
    }
    return [out];
  }
  if (spec.items) {
    return resolvePath(scope.node, spec.items.from)
      .map((element) => {
        const out: Json = {};
        for (const [name, field] of Object.entries(spec.items!.fields)) {
          const v = valueOf(`${param}.${name}`, field, { ...scope, node: element as Json }, violations);
          if (v === SKIP) return SKIP;
          if (v !== undefined) out[name] = v;
        }
        return out;
      })
      .filter((v) => v !== SKIP);
  }
  const paths = [spec.from, ...(Array.isArray(spec.fallback) ? spec.fallback : spec.fallback ? [spec.fallback] : [])].filter((p): p is string => !!p);
  for (const path of paths) {
    const values = resolvePath(scope.node, path);
    if (values.length > 0) return values;
  }
  return [];
}

const SKIP = Symbol("skip");

/** `{ each: … }` with "$id" (or "$id:integer") standing for a group's vendor id. */
function fillId(template: unknown, id: string): unknown {
  if (template === "$id") return id;
  if (template === "$id:integer") return Number(id);
  if (Array.isArray(template)) return template.map((t) => fillId(t, id));
  if (template && typeof template === "object") return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fillId(v, id)]));
  return template;
}

function checkRules(param: string, spec: FieldSpec, value: unknown, violations: Violation[]): void {
  const attr = sourceOf(spec);
  const fail = (message: string) => violations.push({ param, scimAttribute: attr, message });
  const rules = [{ ...spec, why: "" }, ...(spec.rules ?? [])];
  for (const entry of Array.isArray(value) ? value : [value]) {
    if (entry === undefined || typeof entry === "object") continue; // null included
    const text = String(entry);
    for (const rule of rules) {
      const why = rule.why ? ` (${rule.why})` : "";
      const shown = spec.secret || spec.generate ? "the value" : `'${text}'`;
      if (rule.minLength !== undefined && [...text].length < rule.minLength)
        fail(`${param} needs at least ${rule.minLength} characters; ${shown} has ${[...text].length}${why}`);
      if (rule.maxLength !== undefined && [...text].length > rule.maxLength)
        fail(`${param} takes at most ${rule.maxLength} characters; ${shown} has ${[...text].length}${why}`);
      if (rule.maxBytes !== undefined && Buffer.byteLength(text) > rule.maxBytes)
        fail(`${param} takes at most ${rule.maxBytes} bytes (UTF-8); ${shown} has ${Buffer.byteLength(text)}${why}`);
      if (rule.pattern !== undefined && !new RegExp(rule.pattern).test(text)) fail(`${param} must match ${rule.pattern}; ${shown} does not${why}`);
      if (rule.enum !== undefined && !rule.enum.map(String).includes(text)) fail(`${param} must be one of ${rule.enum.join(", ")}; ${shown} is not${why}`);
    }
  }
}

function coerce(param: string, spec: FieldSpec, value: unknown, violations: Violation[]): unknown {
  if (spec.type === "integer") {
    const n = Number(value);
    if (!Number.isInteger(n)) violations.push({ param, scimAttribute: sourceOf(spec), message: `${param} must be an integer, not '${String(value)}'` });
    return n;
  }
  if (spec.type === "boolean") return String(value).toLowerCase() === "true";
  if (spec.type === "string") return String(value);
  return value;
}

function valueOf(param: string, spec: FieldSpec, scope: Scope, violations: Violation[]): unknown {
  let values = rawValue(param, spec, scope, violations);
  if (spec.table) {
    const mapped: unknown[] = [];
    for (const v of values) {
      const hit = ownEntry(spec.table, String(v));
      if (hit !== undefined) mapped.push(substituteSettings(hit, scope.input.settings));
      else if (spec.unknown === "reject") violations.push({ param, scimAttribute: sourceOf(spec), message: `'${String(v)}' has no entry in ${param}'s table` });
      else if (spec.items === undefined && !spec.list) return SKIP;
    }
    values = mapped;
  }
  let value: unknown = spec.list || spec.items || spec.groups ? values : values[0];
  if (spec.map && value !== undefined) {
    const hit = ownEntry(spec.map, String(value));
    if (hit === undefined && spec.default === undefined)
      violations.push({
        param,
        scimAttribute: sourceOf(spec),
        message: `${param} has no value for '${String(value)}'; known: ${Object.keys(spec.map).join(", ")}`,
      });
    value = hit;
  }
  try {
    for (const t of spec.transform ?? [])
      if (value !== undefined) value = applyTransform(value, t, { defaultRegion: scope.input.phoneRegion, lookup: (p) => resolvePath(scope.node, p)[0] });
  } catch (error) {
    if (!(error instanceof TransformError)) throw error;
    violations.push({ param, scimAttribute: sourceOf(spec), message: `${param}: ${error.message}` });
    return undefined;
  }
  if ((value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) && spec.default !== undefined)
    value = substituteSettings(spec.default, scope.input.settings);
  const empty = value === undefined || value === "" || (Array.isArray(value) && value.length === 0);
  if (empty) {
    if (spec.required)
      violations.push({
        param,
        scimAttribute: sourceOf(spec),
        message: `${param} is required by the vendor and ${sourceOf(spec) ?? "its source"} gives no value`,
      });
    return undefined;
  }
  const structured = spec.items !== undefined || spec.object !== undefined || (spec.groups !== undefined && spec.groups !== true);
  if (!structured) value = Array.isArray(value) ? value.map((v) => coerce(param, spec, v, violations)) : coerce(param, spec, value, violations);
  checkRules(param, spec, value, violations);
  return value;
}

export class CompiledMapping {
  constructor(
    readonly file: MappingFile,
    readonly source: string,
  ) {}

  get vendor() {
    return this.file.vendor;
  }

  has(operation: string): boolean {
    return operation in this.file.operations && this.file.operations[operation] !== undefined;
  }

  operation(operation: string): OperationSpec {
    const spec = this.file.operations[operation];
    if (!spec) throw new Error(`${this.source} declares no '${operation}' operation`);
    return spec;
  }

  /** The call an operation makes for this user; throws MappingViolationError listing every rule broken. */
  build(operation: string, input: BuildInput): BuiltCall {
    const spec = this.operation(operation);
    const violations: Violation[] = [];
    const params: Json = {};
    const scope: Scope = { input, node: input.user, file: this.file };
    for (const [name, field] of Object.entries(spec.params)) {
      const value = valueOf(name, field, scope, violations);
      if (value !== undefined && value !== SKIP) params[name] = value;
    }
    if (violations.length > 0) throw new MappingViolationError(violations);
    const secretParams = Object.entries(spec.params)
      .filter(([, f]) => f.secret || f.generate)
      .map(([n]) => n);
    const identity = Object.entries(spec.params)
      .filter(([, f]) => f.key || f.groupKey || f.const !== undefined || f.param !== undefined)
      .map(([n]) => n);
    return { operation, call: spec.call, ...(spec.api ? { api: spec.api } : {}), params, identity, secretParams };
  }

  /** The settings a target must provide (required and without a default). */
  requiredSettings(): string[] {
    return Object.entries(this.file.settings)
      .filter(([, s]) => s.required && s.default === undefined)
      .map(([n]) => n);
  }

  settingsWithDefaults(given: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, s] of Object.entries(this.file.settings)) if (s.default !== undefined) out[name] = s.default;
    return { ...out, ...given };
  }
}

export function loadMapping(path: string): CompiledMapping {
  const file = loadYamlFile(path, CheckedMappingSchema, { substitute: false });
  return new CompiledMapping(file, path);
}

/** The operations that act on a SCIM group: their `from` paths name attributes of the SCIM Group schema. */
export const GROUP_OPERATIONS = new Set(["findGroup", "createGroup", "updateGroup", "deleteGroup"]);

/** The schema plus what zod alone cannot see: regexes compile, SCIM paths parse, ${NAME} is a declared setting. */
export const CheckedMappingSchema = MappingSchema.superRefine((file, ctx) => {
  const settings = new Set(Object.keys(file.settings));
  // `kind`: the SCIM resource the operation builds from (a group operation reads the SCIM Group).
  // `within`: the field reads an item of a multi-valued attribute (items.fields), not the resource: its paths are relative.
  const checkField = (field: FieldSpec, path: (string | number)[], kind: "User" | "Group", within = false) => {
    const checkPath = (p: string, at: (string | number)[], relative: boolean) => {
      if (!isValidPath(p)) ctx.addIssue({ code: "custom", path: at, message: `'${p}' is not a SCIM attribute path` });
      else if (!relative) {
        const unknown = unknownAttribute(p, kind);
        if (unknown) ctx.addIssue({ code: "custom", path: at, message: unknown });
      }
    };
    const invalidRegex = (pattern: string, at: (string | number)[]) => {
      try {
        new RegExp(pattern);
      } catch {
        ctx.addIssue({ code: "custom", path: at, message: `'${pattern}' is not a valid regular expression` });
      }
    };
    const fallbacks = Array.isArray(field.fallback) ? field.fallback : field.fallback ? [field.fallback] : [];
    for (const [p, key] of [[field.from, "from"], ...fallbacks.map((f) => [f, "fallback"]), [field.items?.from, "items"]] as [string | undefined, string][])
      if (p !== undefined) checkPath(p, [...path, key], within && key !== "items");
    for (const [i, rule] of [field, ...(field.rules ?? [])].entries())
      if (rule.pattern !== undefined) invalidRegex(rule.pattern, i === 0 ? [...path, "pattern"] : [...path, "rules", i - 1, "pattern"]);
    // A transform's regex or template path that cannot work would fail every call: refused with the file.
    for (const [i, t] of (field.transform ?? []).entries()) {
      if (typeof t !== "object") continue;
      if ("replace" in t) invalidRegex(t.replace.pattern, [...path, "transform", i, "replace", "pattern"]);
      if ("template" in t) for (const p of templatePaths(t.template)) checkPath(p, [...path, "transform", i, "template"], within);
    }
    for (const text of [field.const, field.default, ...Object.values(field.table ?? {})]) {
      if (typeof text !== "string") continue;
      for (const [, name] of text.matchAll(SETTING))
        if (!settings.has(name!)) ctx.addIssue({ code: "custom", path: [...path, "const"], message: `\${${name}} is not declared under settings` });
    }
    for (const [name, sub] of Object.entries(field.items?.fields ?? {})) checkField(sub, [...path, "items", "fields", name], kind, true);
    for (const [name, sub] of Object.entries(field.object ?? {})) checkField(sub, [...path, "object", name], kind, within);
  };
  for (const [op, spec] of Object.entries(file.operations)) {
    if (!spec) continue;
    const kind = GROUP_OPERATIONS.has(op) ? "Group" : "User";
    for (const [name, field] of Object.entries(spec.params)) checkField(field, ["operations", op, "params", name], kind);
  }
  const ops = new Set(Object.keys(file.operations));
  const needs = (name: string, why: (string | number)[]) => {
    if (!ops.has(name)) ctx.addIssue({ code: "custom", path: why, message: `operation '${name}' is not declared under operations` });
  };
  file.lifecycle.afterCreate.forEach((n, i) => needs(n, ["lifecycle", "afterCreate", i]));
  file.lifecycle.beforeDelete.forEach((n, i) => needs(n, ["lifecycle", "beforeDelete", i]));
  if (file.lifecycle.deactivate === "disable") ["disable", "enable"].forEach((n) => needs(n, ["lifecycle", "deactivate"]));
  if (file.lifecycle.deactivate === "delete" || file.lifecycle.rename === "recreate") needs("delete", ["lifecycle"]);
  file.lifecycle.immutable.forEach((p, i) => {
    if (!(p in file.operations.create.params))
      ctx.addIssue({ code: "custom", path: ["lifecycle", "immutable", i], message: `'${p}' is not a create parameter` });
  });
  if (file.groups?.model === "membership") ["addMember", "removeMember"].forEach((n) => needs(n, ["groups", "model"]));
  if (file.lifecycle.deleteBlocked.memberships.length > 0 && file.groups?.model !== "membership")
    ctx.addIssue({
      code: "custom",
      path: ["lifecycle", "deleteBlocked", "memberships"],
      message: "the bridge takes a user out of its vendor groups only under groups.model: membership",
    });
  if (file.groups?.resolveBy.includes("displayName") && file.groups.model === "membership") needs("findGroup", ["groups", "resolveBy"]);
  if (file.groups?.unknown === "create") needs("createGroup", ["groups", "unknown"]);
  // A vendor that requires a password on create gets a generated one when the IdP sends none: it must meet the vendor's rule.
  const generatesOnCreate = Object.values(file.operations.create.params).some((f) => f.generate);
  if (generatesOnCreate && !file.passwordRule)
    ctx.addIssue({ code: "custom", path: ["passwordRule"], message: "a mapping that generates passwords on create declares the vendor's passwordRule" });
});

export { FileValidationError };

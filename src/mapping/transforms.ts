/** The closed set of named transforms a mapping file may apply to a value. */
import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max";
import type { Transform } from "./schema";

export interface TransformContext {
  /** Country for phone numbers written without a country code (the target's setting). */
  defaultRegion?: string;
  /** Resolves a SCIM path for `template` placeholders. */
  lookup: (path: string) => unknown;
}

export class TransformError extends Error {}

/** `{{ path }}` in a template; `{{ value }}` is the value being transformed. */
const PLACEHOLDER = /\{\{\s*([^}]+?)\s*\}\}/g;

/** The SCIM paths a template's placeholders read (`value` aside). */
export function templatePaths(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((path) => path !== "value");
}

function truncateBytes(text: string, bytes: number): string {
  let out = "";
  let used = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (used + size > bytes) break;
    out += ch;
    used += size;
  }
  return out;
}

function phone(value: string, region: string | undefined, dash: boolean): string {
  const parsed = parsePhoneNumberFromString(value, region as CountryCode | undefined);
  if (!parsed || !parsed.isPossible())
    throw new TransformError(
      `'${value}' is not a phone number that can be written in international form${region ? ` (default region ${region})` : "; give it a +country code or set the target's phoneRegion"}`,
    );
  return dash ? `+${parsed.countryCallingCode}-${parsed.nationalNumber}` : parsed.number;
}

function epochMillis(value: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new TransformError(`'${value}' is not a date`);
  return ms;
}

export function applyTransform(value: unknown, transform: Transform, ctx: TransformContext): unknown {
  if (Array.isArray(value) && !(typeof transform === "object" && "join" in transform)) return value.map((v) => applyTransform(v, transform, ctx));
  const text = String(value);
  switch (transform) {
    case "trim":
      return text.trim();
    case "lower":
      return text.toLowerCase();
    case "upper":
      return text.toUpperCase();
    case "digits":
      return text.replace(/\D/g, "");
    case "e164":
      return phone(text, ctx.defaultRegion, false);
    case "epochMillis":
      return epochMillis(text);
  }
  if ("truncate" in transform) {
    const { chars, bytes } = transform.truncate;
    let out = chars !== undefined ? [...text].slice(0, chars).join("") : text;
    if (bytes !== undefined) out = truncateBytes(out, bytes);
    return out;
  }
  if ("replace" in transform) return text.replace(new RegExp(transform.replace.pattern, "g"), transform.replace.with);
  if ("e164" in transform) return phone(text, ctx.defaultRegion, transform.e164.dashAfterCountryCode);
  if ("join" in transform) return Array.isArray(value) ? value.map(String).join(transform.join) : text;
  return transform.template.replace(PLACEHOLDER, (_, path: string) => (path === "value" ? text : String(ctx.lookup(path) ?? ""))).trim();
}

/**
 * Every vendor answer becomes one outcome: success, conflict, not found, invalid (permanent), throttled,
 * transient, or auth failure. The vendor's own code decides first (from the mapping file's lists), the HTTP
 * status only when the code is unknown — Volcengine answers a duplicate user with HTTP 404.
 */
import { ownEntry } from "../lib/own-entry";
import type { RawAnswer } from "./http";
import { retryAfterSeconds } from "./http";
import { ERROR_CLASSES, type ErrorClass, type ParsedAnswer, type VendorOutcome, type ErrorTable } from "./types";

/** Whether a mapping's list entry (a code, a `Prefix*`, or a /regex/ tried on code and message) names this answer. */
export function codeMatches(entry: string, code: string, message: string): boolean {
  const regex = /^\/(.+)\/([a-z]*)$/.exec(entry);
  if (regex) return new RegExp(regex[1]!, regex[2]).test(code) || new RegExp(regex[1]!, regex[2]).test(message);
  if (entry.endsWith("*")) return code.startsWith(entry.slice(0, -1));
  return code === entry;
}

export function classByCode(errors: ErrorTable, code: string, message: string): ErrorClass | undefined {
  return ERROR_CLASSES.find((c) => errors[c].some((entry) => codeMatches(entry, code, message)));
}

/** The vendor's own reading of an HTTP status (the mapping's `errors.statuses`), else the usual one. */
function classOfStatus(errors: ErrorTable, status: number): ErrorClass {
  return ownEntry(errors.statuses, String(status)) ?? classByStatus(status);
}

export function classByStatus(status: number): ErrorClass {
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "notFound";
  if (status === 409) return "conflict";
  if (status === 429) return "throttled";
  if (status >= 500) return "transient";
  return "invalid";
}

export function classify(errors: ErrorTable, raw: RawAnswer, parsed: ParsedAnswer): VendorOutcome {
  if (parsed.ok && raw.status < 400) return { kind: "success", result: parsed.result, status: raw.status, requestId: parsed.requestId };
  const code = parsed.code ?? `HTTP ${raw.status}`;
  const message = parsed.message ?? raw.text.slice(0, 300);
  const kind = classByCode(errors, code, message) ?? classOfStatus(errors, raw.status >= 400 ? raw.status : 400);
  return { kind, code, message, status: raw.status, requestId: parsed.requestId, retryAfter: retryAfterSeconds(raw.headers["retry-after"]) };
}

export function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

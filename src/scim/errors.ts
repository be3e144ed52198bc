/**
 * SCIM errors (RFC 7644 §3.12). `ScimError` extends scimmy's error type so that scimmy passes it through
 * unchanged, and it may carry statuses scimmy's own error message refuses (429, 502, 503, 504).
 */
import SCIMMY from "scimmy";
import { VendorRefusal, type RefusalReason } from "../provisioning/refusal";
import { FilterTooCostlyError, StoreUnavailableError } from "../store/types";
import { InvalidScimInput, type ScimType } from "../scim-model/invalid-input";

export type { ScimType };

export const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

export class ScimError extends SCIMMY.Types.Error {
  constructor(
    status: number,
    scimType: ScimType | null,
    detail: string,
    /** Seconds an IdP should wait before retrying (429/503). */
    readonly retryAfter?: number,
  ) {
    super(status, scimType as string, detail);
    this.name = "ScimError";
  }
}

export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA];
  status: string;
  scimType?: string;
  detail: string;
}

export function errorBody(status: number, scimType: string | null | undefined, detail: string): ScimErrorBody {
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

/** Seconds an IdP is asked to wait when the store is unavailable. */
export const STORE_RETRY_AFTER = 5;

/** The 503 every store failure answers: it names the store, so nobody goes looking at the vendor. */
export function storeUnavailable(reason: string): { status: number; detail: string; retryAfter: number } {
  return {
    status: 503,
    detail: `The bridge's store is unavailable right now (${reason}); retry shortly. This is the bridge's own database, not the vendor.`,
    retryAfter: STORE_RETRY_AFTER,
  };
}

/** What a JavaScript exception says ("Cannot read properties of undefined …"): scimmy wraps some as SCIM errors. */
const EXCEPTION_TEXT =
  /Cannot (read|set) propert|Cannot convert|Cannot destructure|is not a function|is not iterable|is not defined|is not a constructor|Maximum call stack|Invalid array length|\(reading '|\.(?:js|ts):\d+:\d+\)/;

/** What the IdP is told of each kind of vendor refusal: the status it acts on. */
const REFUSAL_STATUS: Record<RefusalReason, { status: number; scimType?: ScimType }> = {
  conflict: { status: 409, scimType: "uniqueness" },
  invalid: { status: 400, scimType: "invalidValue" },
  immutable: { status: 400, scimType: "mutability" },
  throttled: { status: 429 },
  unavailable: { status: 503 },
  timeout: { status: 504 },
  credentials: { status: 502 },
  malformed: { status: 502 },
};

export function refusalAnswer(refusal: VendorRefusal): { status: number; scimType?: string; detail: string; retryAfter?: number } {
  const { status, scimType } = REFUSAL_STATUS[refusal.reason];
  // 504 too: the change may still land, and the bridge settles it (undoes or adopts it) before a retry is due.
  const retryAfter = status === 429 || status === 503 || status === 504 ? (refusal.retryAfter ?? 30) : undefined;
  return { status, ...(scimType ? { scimType } : {}), detail: refusal.message, ...(retryAfter !== undefined ? { retryAfter } : {}) };
}

/** The status, scimType and detail of anything thrown while serving a request; unknown errors are a plain 500. */
export function describeError(error: unknown): { status: number; scimType?: string; detail: string; retryAfter?: number; unexpected: boolean } {
  const e = error as { status?: unknown; scimType?: unknown; message?: unknown; type?: unknown; retryAfter?: number; code?: unknown };
  if (error instanceof SCIMMY.Types.Error && typeof e.status === "number") {
    const message = String(e.message ?? "");
    const leaks = !(error instanceof ScimError) && EXCEPTION_TEXT.test(message);
    return {
      status: e.status,
      scimType: typeof e.scimType === "string" ? e.scimType : undefined,
      // Never JavaScript exception text in an answer: the status and scimType still say what kind of fault it is.
      detail: leaks
        ? `The request could not be applied: some part of it is not valid SCIM here${typeof e.scimType === "string" ? ` (${e.scimType})` : ""}.`
        : message,
      retryAfter: e.retryAfter,
      unexpected: e.status >= 500 && !(error instanceof ScimError),
    };
  }
  if (error instanceof InvalidScimInput) return { status: 400, scimType: error.scimType, detail: error.detail, unexpected: false };
  if (error instanceof StoreUnavailableError) return { ...storeUnavailable(error.reason), unexpected: true };
  if (error instanceof FilterTooCostlyError)
    return error.status === 400
      ? { status: 400, scimType: "invalidFilter", detail: error.detail, unexpected: false }
      : { status: 503, detail: error.detail, retryAfter: 30, unexpected: false };
  if (error instanceof VendorRefusal) return { ...refusalAnswer(error), unexpected: false };
  // express: a URL whose percent-encoding does not decode (`/Users/%ZZ`).
  if (error instanceof URIError) return { status: 400, scimType: "invalidValue", detail: "The URL is not valid percent-encoding.", unexpected: false };
  return { status: 500, detail: "The bridge hit an unexpected error; it has been logged with this request's id.", unexpected: true };
}

/** 412: the resource is no longer at the version the request's If-Match (or a PATCH's read) named. */
export function staleVersion(kind: string, current: number): ScimError {
  return new ScimError(412, null, `The ${kind} changed since the version you sent (it is now W/"${current}"); read it again and retry.`);
}

/**
 * A write lost a race with another writer (another bridge process) between its read and its write, and the
 * request named no If-Match: the whole request can safely be tried again.
 */
export class ConcurrentChangeError extends ScimError {
  constructor(kind: string) {
    super(409, null, `The ${kind} was changed by another request at the same moment; send the request again.`);
    this.name = "ConcurrentChangeError";
  }
}

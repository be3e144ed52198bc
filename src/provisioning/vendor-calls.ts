/**
 * The plumbing every vendor-side step shares: building a mapped call, making it (rate-limited, retried),
 * and turning a refusal into the SCIM error the IdP should see.
 */
import { createHash } from "node:crypto";
import type { VendorConnection } from "../config/schema";
import type { Logger } from "../log";
import { MappingViolationError, type BuildInput, type BuiltCall, type CompiledMapping } from "../mapping/compile";
import type { StoreLocks } from "../store/admin/port";
import type { LinkStore } from "../store/links/port";
import type { MemberStore } from "../store/members/port";
import type { ResourceStore } from "../store/resources/port";
import type { TrailStore } from "../store/trail/port";
import type { ScimDocument, VendorCallRecord, VendorLink } from "../store/types";
import { pick } from "../vendors/connector-base";
import type { VendorConnector, VendorOutcome } from "../vendors/types";
import type { KeyedLock } from "../lib/keyed-lock";
import type { ChangeContext, Step } from "./provisioner";
import type { CredentialGovernor } from "./rate-limiter";
import { reasonOf, VendorRefusal } from "./refusal";
import { callVendor, DeadlineExceeded, scrubSecrets } from "./retry";

export interface VendorProvisionerDeps {
  target: string;
  mapping: CompiledMapping;
  connector: VendorConnector;
  connection: VendorConnection;
  /** The credential's rate limiter and circuit, shared with every target and process using the credential. */
  governor: CredentialGovernor;
  /** Counts each vendor call (metrics). */
  called?: (vendor: string, action: string, outcome: string, seconds: number) => void;
  /** Counts each vendor call that failed inside the bridge's own code (metrics): a bug. */
  internalError?: (target: string, operation: string) => void;
  /** The SCIM users and groups the vendor side reads. */
  resources: ResourceStore;
  members: MemberStore;
  links: LinkStore;
  trail: TrailStore;
  /** Serialises, across processes, the check that a vendor user is free with the link that takes it. */
  locks: StoreLocks;
  log: Logger;
  /** Every target (this one included) on the same vendor account: a vendor user belongs to one link among them. */
  accountTargets: string[];
  /** Serialises, in this process, the check that a vendor user is free with the link that takes it. */
  adoptionLock: KeyedLock;
  /** Names the vendor account (the vendor and the credential's key id, hashed) in lock keys shared across targets. */
  account: string;
}

/** How the trail names a vendor user's unique name without keeping it: SHA-256 of its lower case. */
export function nameHashOf(name: string): string {
  return createHash("sha256").update(name.toLowerCase(), "utf8").digest("hex");
}

type TrailAnswer = Pick<VendorCallRecord, "outcome" | "code" | "vendorRequestId">;

/** A vendor answer that is not a success. */
export type VendorFailure = Exclude<VendorOutcome, { kind: "success" }>;

/** What a refused call was about, as the IdP's detail names it. */
export type RefusedSubject = "user" | "group" | "group membership";

/** The operations that act on a vendor group, or on a user's membership in one, rather than on the user. */
const SUBJECT_OF: Record<string, RefusedSubject> = {
  findGroup: "group",
  createGroup: "group",
  deleteGroup: "group",
  addMember: "group membership",
  removeMember: "group membership",
};

/** The most pages one walk reads: a vendor whose pages never end is refused, not read for ever. */
export const MAX_PAGES = 10_000;

/** What the trail keeps of a vendor answer: its class, the vendor's code for a refusal, the vendor's RequestId. */
function trailAnswer(outcome: VendorOutcome): TrailAnswer {
  return {
    outcome: outcome.kind,
    ...(outcome.kind === "success" ? {} : { code: outcome.code }),
    ...(outcome.requestId ? { vendorRequestId: outcome.requestId } : {}),
  };
}

export function vendorDetail(outcome: Exclude<VendorOutcome, { kind: "success" }>): string {
  return `${outcome.code}: ${outcome.message}${outcome.requestId ? ` (vendor RequestId ${outcome.requestId})` : ""}`;
}

/** Builds an operation's call for a user; a broken vendor rule is the IdP's 400, naming the attribute and the rule. */
export function buildVendorCall(
  mapping: CompiledMapping,
  connection: VendorConnection,
  operation: string,
  user: ScimDocument,
  extras: Pick<BuildInput, "password" | "created" | "vendorKey" | "groups" | "groupKey"> = {},
): BuiltCall {
  try {
    return mapping.build(operation, { user, settings: mapping.settingsWithDefaults(connection.settings), phoneRegion: connection.phoneRegion, ...extras });
  } catch (error) {
    if (error instanceof MappingViolationError)
      throw new VendorRefusal("invalid", `This ${SUBJECT_OF[operation] ?? "user"} cannot be provisioned to ${mapping.vendor}: ${error.message}.`);
    throw error;
  }
}

export class VendorCalls {
  constructor(readonly deps: VendorProvisionerDeps) {}

  get vendor(): string {
    return this.deps.mapping.vendor;
  }

  get settings(): Record<string, string> {
    return this.deps.mapping.settingsWithDefaults(this.deps.connection.settings);
  }

  build(operation: string, user: ScimDocument, step: Partial<ChangeContext> = {}, created?: Record<string, unknown>): BuiltCall {
    return buildVendorCall(this.deps.mapping, this.deps.connection, operation, user, { password: step.password, created });
  }

  /**
   * The answer without the values the operation's `secrets` name (CIC answers CreateUser with an initial
   * password): taken out as soon as the answer arrives, so no later step can log, store or return them.
   */
  private withoutAnswerSecrets(call: BuiltCall, result: Record<string, unknown>): Record<string, unknown> {
    const paths = this.deps.mapping.has(call.operation) ? this.deps.mapping.operation(call.operation).secrets : [];
    if (paths.length === 0) return result;
    const copy = structuredClone(result);
    for (const path of paths) {
      const parts = path.split(".");
      const parent = parts.length > 1 ? pick(copy, parts.slice(0, -1).join(".")) : copy;
      if (parent && typeof parent === "object") delete (parent as Record<string, unknown>)[parts[parts.length - 1]!];
    }
    return copy;
  }

  /** The unique name a create asks the vendor for (the parameter `lookup` matches on), if the mapping has one. */
  uniqueNameOf(call: BuiltCall): string | undefined {
    const param = this.deps.mapping.has("lookup") ? this.deps.mapping.operation("lookup").match?.param : undefined;
    const value = param === undefined ? undefined : call.params[param];
    return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
  }

  /** The vendor's key for the user a create made: the key parameter it sent, or the id in the answer. */
  vendorKeyOf(call: BuiltCall, result: Record<string, unknown>): string | undefined {
    const op = this.deps.mapping.operation("create");
    const key = op.keyParam ? call.params[op.keyParam] : op.id ? pick(result, op.id) : undefined;
    return typeof key === "string" || typeof key === "number" ? String(key) : undefined;
  }

  /** What the trail keeps of a create's subject: its name's hash, and the key the vendor answered with. */
  private createSubject(call: BuiltCall, outcome?: VendorOutcome): Pick<VendorCallRecord, "nameHash" | "vendorKey"> {
    if (call.operation !== "create") return {};
    const name = this.uniqueNameOf(call);
    const key = outcome?.kind === "success" ? this.vendorKeyOf(call, outcome.result) : undefined;
    return { ...(name !== undefined ? { nameHash: nameHashOf(name) } : {}), ...(key !== undefined ? { vendorKey: key } : {}) };
  }

  /** Makes a call (rate-limited, retried) and records it in the audit trail; `subject` is the SCIM id it is about. */
  async call(call: BuiltCall, step: Step, subject?: string): Promise<VendorOutcome> {
    const started = performance.now();
    const trail = (answer: TrailAnswer, attempts: number, outcome?: VendorOutcome) =>
      this.audit(call, step, subject, { ...answer, ...this.createSubject(call, outcome), attempts, ms: Math.round(performance.now() - started) });
    try {
      const { outcome, attempts } = await callVendor({
        connector: this.deps.connector,
        governor: this.deps.governor,
        call,
        signal: step.signal,
        log: this.deps.log,
        context: { target: this.deps.target, requestId: step.requestId, ...(subject ? { scimId: subject } : {}) },
        events: {
          called: (kind, seconds) => this.deps.called?.(this.vendor, call.call, kind, seconds),
          internalError: (operation) => this.deps.internalError?.(this.deps.target, operation),
        },
        repeatUnknown: call.operation !== "create",
        deadlineAt: step.deadlineAt,
        intent: call.operation === "create" ? step.intent : undefined,
        deprovision: step.deprovision,
      });
      await trail(trailAnswer(outcome), attempts, outcome);
      return outcome.kind === "success"
        ? { ...outcome, result: this.withoutAnswerSecrets(call, outcome.result) }
        : { ...outcome, message: scrubSecrets(outcome.message, call) };
    } catch (error) {
      // A call cut off by the deadline may still have reached the vendor: the trail says so.
      if (error instanceof DeadlineExceeded) await trail({ outcome: "deadline" }, error.attempts);
      throw error;
    }
  }

  private async audit(
    call: BuiltCall,
    step: ChangeContext,
    subject: string | undefined,
    result: Pick<VendorCallRecord, "outcome" | "code" | "vendorRequestId" | "attempts" | "ms" | "nameHash" | "vendorKey">,
  ): Promise<void> {
    try {
      await this.deps.trail.record({
        target: this.deps.target,
        at: new Date().toISOString(),
        requestId: step.requestId,
        ...(subject ? { scimId: subject } : {}),
        operation: call.operation,
        call: call.call,
        ...result,
      });
    } catch (error) {
      // The call happened; a trail that cannot be written must not undo it. The log line still records it.
      this.deps.log.error("vendor call not written to the audit trail", {
        target: this.deps.target,
        requestId: step.requestId,
        error: (error as Error).message,
      });
    }
  }

  /**
   * Reads a listing operation's answers (lookup, findGroup, list) page after page, as its `paging` says,
   * handing each page's results to `visit` until it answers true (found) or the pages end. Answers the
   * first failed page's outcome, or undefined. More than MAX_PAGES pages is a vendor fault, refused.
   */
  async eachPage(
    call: BuiltCall,
    step: Step,
    subject: string | undefined,
    visit: (results: Record<string, unknown>[]) => boolean,
  ): Promise<VendorFailure | undefined> {
    const op = this.deps.mapping.operation(call.operation);
    const paging = op.paging;
    let page: unknown = paging?.style === "page" ? paging.first : undefined;
    for (let read = 0; read < MAX_PAGES; read++) {
      const params = structuredClone(call.params);
      if (page !== undefined && paging) setPath(params, paging.param, page);
      const outcome = await this.call({ ...call, params }, step, subject);
      if (outcome.kind !== "success") return outcome;
      const results = pick(outcome.result, op.results ?? "");
      const list = Array.isArray(results) ? (results as Record<string, unknown>[]) : [];
      if (visit(list)) return undefined;
      if (paging?.style === "page") {
        if (list.length < paging.size) return undefined;
        page = (page as number) + 1;
      } else if (paging?.style === "token") {
        page = pick(outcome.result, paging.next);
        if (!page) return undefined;
      } else return undefined;
    }
    throw new VendorRefusal("malformed", `${this.vendor} answered more than ${MAX_PAGES} pages to ${call.call}; the bridge stops reading there.`);
  }

  /**
   * The first record, over every page of a search, whose `field` equals `wanted` (case aside): the exact
   * one among the look-alikes a substring search answers. `failed`: the first page that failed.
   */
  async findExact(
    call: BuiltCall,
    step: Step,
    subject: string | undefined,
    field: string,
    wanted: unknown,
  ): Promise<{ found?: Record<string, unknown>; failed?: VendorFailure }> {
    const text = String(wanted ?? "").toLowerCase();
    let found: Record<string, unknown> | undefined;
    const failed = await this.eachPage(call, step, subject, (results) => {
      found = results.find((r) => String(pick(r, field) ?? "").toLowerCase() === text);
      return found !== undefined;
    });
    return { found, failed };
  }

  /** Builds and makes one operation's call for a linked user; a failure the IdP should see is thrown. */
  async run(
    operation: string,
    link: VendorLink,
    user: ScimDocument,
    step: Step,
    tolerate: VendorOutcome["kind"][] = [],
    extras: Pick<BuildInput, "groups" | "groupKey"> = {},
  ): Promise<{ call: BuiltCall; outcome: VendorOutcome }> {
    const call = buildVendorCall(
      this.deps.mapping,
      this.deps.connection,
      operation,
      { ...user, id: link.scimId },
      {
        password: step.password,
        created: link.acknowledged.create,
        vendorKey: link.vendorKey,
        groups: extras.groups ?? [],
        groupKey: extras.groupKey,
      },
    );
    const outcome = await this.call(call, step, link.scimId);
    if (outcome.kind !== "success" && !tolerate.includes(outcome.kind)) throw this.refusal(outcome, SUBJECT_OF[operation]);
    return { call, outcome };
  }

  /** A vendor's answer that is not success, as a refusal that says what happened in words a person can act on. */
  refusal(outcome: VendorFailure, about: RefusedSubject = "user"): VendorRefusal {
    const reason = reasonOf(outcome.kind);
    const refusal = (message: string) => new VendorRefusal(reason, message, outcome.code, outcome.requestId, outcome.retryAfter);
    switch (outcome.kind) {
      case "conflict":
        // A value another vendor user holds (an email, a phone): the same uniqueness fault as on create.
        return refusal(`${this.vendor} refused the ${about}: a value it must keep unique is taken by another of its ${about}s (${vendorDetail(outcome)}).`);
      case "invalid":
      case "notFound":
        return refusal(`${this.vendor} refused the ${about}: ${vendorDetail(outcome)}.`);
      case "throttled":
        return refusal(`${this.vendor} is rate-limiting this bridge (${vendorDetail(outcome)}).`);
      case "transient":
        return refusal(`${this.vendor} is unavailable (${vendorDetail(outcome)}).`);
      case "auth":
        this.deps.log.error("vendor refused the bridge's credentials or settings", {
          target: this.deps.target,
          vendor: this.vendor,
          code: outcome.code,
          requestIdAtVendor: outcome.requestId,
        });
        return refusal(`${this.vendor} refused the bridge's credentials or target settings (${outcome.code}); an administrator must fix the target.`);
    }
  }
}

/** Sets a dotted path ("Pageable.PageNumber") in a parameter object. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1]!] = value;
}

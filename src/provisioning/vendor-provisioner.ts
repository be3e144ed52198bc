/**
 * The provisioner of a target with a vendor: a SCIM change becomes the mapped, signed vendor call, and the
 * vendor's answer decides what the IdP is told. A user is stored only once its vendor user exists.
 */
import type { VendorConnection } from "../config/schema";
import type { Logger } from "../log";
import { MappingViolationError, type BuiltCall, type CompiledMapping } from "../mapping/compile";
import { ScimError } from "../scim/errors";
import type { ScimDocument, Store } from "../store/types";
import { pick } from "../vendors/connector-base";
import type { VendorConnector, VendorOutcome } from "../vendors/types";
import type { ChangeContext, ProvisioningOutcome, Provisioner, ResourceChange } from "./provisioner";
import type { TokenBucket } from "./rate-limiter";
import { callVendor, DeadlineExceeded } from "./vendor-call";

export interface VendorProvisionerDeps {
  target: string;
  mapping: CompiledMapping;
  connector: VendorConnector;
  connection: VendorConnection;
  bucket: TokenBucket;
  store: Store;
  log: Logger;
}

function vendorDetail(outcome: Exclude<VendorOutcome, { kind: "success" }>): string {
  return `${outcome.code}: ${outcome.message}${outcome.requestId ? ` (vendor RequestId ${outcome.requestId})` : ""}`;
}

/** Builds an operation's call for a user; a broken vendor rule is the IdP's 400, naming the attribute and the rule. */
export function buildVendorCall(
  mapping: CompiledMapping,
  connection: VendorConnection,
  operation: string,
  user: ScimDocument,
  password?: string,
  created?: Record<string, unknown>,
): BuiltCall {
  try {
    return mapping.build(operation, { user, settings: mapping.settingsWithDefaults(connection.settings), phoneRegion: connection.phoneRegion, password, created });
  } catch (error) {
    if (error instanceof MappingViolationError)
      throw new ScimError(400, "invalidValue", `This user cannot be provisioned to ${mapping.vendor}: ${error.message}.`);
    throw error;
  }
}

export class VendorProvisioner implements Provisioner {
  constructor(private readonly deps: VendorProvisionerDeps) {}

  get vendor(): string {
    return this.deps.mapping.vendor;
  }

  async apply(change: ResourceChange, context: ChangeContext): Promise<ProvisioningOutcome> {
    if (change.op === "create" && change.kind === "User") return this.create(change.id, change.after, context);
    return {};
  }

  build(operation: string, user: ScimDocument, context: Partial<ChangeContext> = {}, created?: Record<string, unknown>): BuiltCall {
    return buildVendorCall(this.deps.mapping, this.deps.connection, operation, user, context.password, created);
  }

  private async call(call: BuiltCall, signal: AbortSignal, context: ChangeContext): Promise<VendorOutcome> {
    return callVendor(this.deps.connector, this.deps.bucket, call, signal, this.deps.log, { target: this.deps.target, requestId: context.requestId });
  }

  private async create(id: string, user: ScimDocument, context: ChangeContext): Promise<ProvisioningOutcome> {
    const built = this.build("create", { ...user, id }, context);
    const signal = AbortSignal.timeout(this.deps.connection.deadlineMs);
    try {
      const outcome = await this.call(built, signal, context);
      if (outcome.kind === "success") return this.link(id, user, this.keyOf(built, outcome.result), "created");
      // The vendor may have refused because the user is already there under a code we do not know.
      if (outcome.kind === "conflict" || outcome.kind === "invalid") {
        const existing = this.deps.mapping.has("lookup") ? await this.lookup(built, signal, context) : undefined;
        if (existing !== undefined) {
          if (this.deps.connection.existingUsers === "reject")
            throw new ScimError(409, "uniqueness", `${this.vendor} already has this user (${vendorDetail(outcome)}); this target does not adopt existing vendor users.`);
          return this.link(id, user, existing, "adopted");
        }
        if (outcome.kind === "conflict")
          throw new ScimError(409, "uniqueness", `${this.vendor} reports the user as already existing (${vendorDetail(outcome)}), and no vendor user with the same name could be adopted: another attribute (email, phone) is taken.`);
      }
      throw this.refusal(outcome);
    } catch (error) {
      if (error instanceof DeadlineExceeded || signal.aborted)
        throw new ScimError(504, null, `${this.vendor} did not answer within ${this.deps.connection.deadlineMs / 1000} s; nothing was kept. Retrying is safe: a vendor user created meanwhile is found and adopted.`);
      throw error;
    }
  }

  private keyOf(built: BuiltCall, result: Record<string, unknown>): string {
    const op = this.deps.mapping.operation("create");
    const key = op.keyParam ? built.params[op.keyParam] : op.id ? pick(result, op.id) : undefined;
    if (typeof key !== "string" && typeof key !== "number")
      throw new ScimError(502, null, `${this.vendor} acknowledged the user without the id the mapping expects at '${op.id ?? op.keyParam}'.`);
    return String(key);
  }

  /** The vendor's key for the user with the same unique name, if the vendor has one. */
  private async lookup(built: BuiltCall, signal: AbortSignal, context: ChangeContext): Promise<string | undefined> {
    const op = this.deps.mapping.operation("lookup");
    const call = this.build("lookup", {}, context, built.params);
    const outcome = await this.call(call, signal, context);
    if (outcome.kind !== "success") return undefined;
    const results = pick(outcome.result, op.results ?? "");
    if (!Array.isArray(results) || !op.match) return undefined;
    const wanted = String(built.params[op.match.param] ?? "").toLowerCase();
    const found = results.find((r) => String(pick(r, op.match!.field) ?? "").toLowerCase() === wanted);
    if (!found) return undefined;
    if (this.deps.connection.adoptOnlyIf === "emailMatches" && op.email) {
      const theirs = String(pick(found, op.email.field) ?? "").toLowerCase();
      if (theirs !== String(built.params[op.email.param] ?? "").toLowerCase()) return undefined;
    }
    const key = pick(found, op.id ?? "");
    return typeof key === "string" || typeof key === "number" ? String(key) : undefined;
  }

  private async link(id: string, user: ScimDocument, vendorKey: string, link: "created" | "adopted"): Promise<ProvisioningOutcome> {
    await this.deps.store.recordLink({ target: this.deps.target, scimId: id, vendor: this.vendor, vendorKey, link, userName: String(user.userName) });
    this.deps.log.info(link === "created" ? "vendor user created" : "vendor user adopted", { target: this.deps.target, scimId: id, vendor: this.vendor, vendorKey });
    return { annotations: { vendorKey, link } };
  }

  /** A vendor refusal as the SCIM error the IdP should see. */
  private refusal(outcome: Exclude<VendorOutcome, { kind: "success" }>): ScimError {
    switch (outcome.kind) {
      case "invalid":
      case "notFound":
      case "conflict":
        return new ScimError(400, "invalidValue", `${this.vendor} refused the user: ${vendorDetail(outcome)}.`);
      case "throttled":
        return new ScimError(429, null, `${this.vendor} is rate-limiting this bridge (${vendorDetail(outcome)}); retry later.`, outcome.retryAfter ?? 30);
      case "transient":
        return new ScimError(503, null, `${this.vendor} is unavailable (${vendorDetail(outcome)}); nothing was kept, retry later.`, outcome.retryAfter ?? 30);
      case "auth":
        this.deps.log.error("vendor refused the bridge's credentials or settings", { target: this.deps.target, vendor: this.vendor, code: outcome.code, requestIdAtVendor: outcome.requestId });
        return new ScimError(502, null, `${this.vendor} refused the bridge's credentials or target settings (${outcome.code}); an administrator must fix the target. Nothing was created.`);
    }
  }
}

/**
 * The provisioner of a target with a vendor: a SCIM change becomes the mapped, signed vendor call, and the
 * vendor's answer decides what the IdP is told. A user is stored only once its vendor user exists.
 */
import type { VendorConnection } from "../config/schema";
import type { Logger } from "../log";
import { MappingViolationError, type BuildInput, type BuiltCall, type CompiledMapping } from "../mapping/compile";
import { ScimError } from "../scim/errors";
import type { ScimDocument, Store, VendorLink } from "../store/types";
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
  extras: Pick<BuildInput, "password" | "created" | "vendorKey" | "groups" | "groupKey"> = {},
): BuiltCall {
  try {
    return mapping.build(operation, { user, settings: mapping.settingsWithDefaults(connection.settings), phoneRegion: connection.phoneRegion, ...extras });
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
    const signal = AbortSignal.timeout(this.deps.connection.deadlineMs);
    try {
      if (change.op === "members") {
        await this.membersChanged(change.groupId, change.added, change.removed, context, signal);
        return {};
      }
      if (change.kind === "Group") {
        if (change.op === "create") await this.vendorGroupOf(change.id, change.after, context, signal);
        if (change.op === "delete") await this.groupDeleted(change.id, change.before.doc, context, signal);
        return {};
      }
      switch (change.op) {
        case "create":
          return await this.created(change.id, change.after, context, signal);
        case "replace":
          await this.changed(change.id, change.before.doc, change.after, context, signal);
          return {};
        case "delete":
          await this.deleted(change.id, context, signal);
          return {};
      }
    } catch (error) {
      if (error instanceof DeadlineExceeded || signal.aborted)
        throw new ScimError(504, null, `${this.vendor} did not answer within ${this.deps.connection.deadlineMs / 1000} s; nothing was kept. Retrying is safe: a vendor user created meanwhile is found and adopted.`);
      throw error;
    }
  }

  build(operation: string, user: ScimDocument, context: Partial<ChangeContext> = {}, created?: Record<string, unknown>): BuiltCall {
    return buildVendorCall(this.deps.mapping, this.deps.connection, operation, user, { password: context.password, created });
  }

  private async call(call: BuiltCall, signal: AbortSignal, context: ChangeContext): Promise<VendorOutcome> {
    return callVendor(this.deps.connector, this.deps.bucket, call, signal, this.deps.log, { target: this.deps.target, requestId: context.requestId });
  }

  /** Creates (or adopts) the vendor user; returns its key and how it was linked. */
  private async createAtVendor(id: string, user: ScimDocument, context: ChangeContext, signal: AbortSignal): Promise<{ key: string; link: "created" | "adopted"; built: BuiltCall }> {
    const built = buildVendorCall(this.deps.mapping, this.deps.connection, "create", { ...user, id }, { password: context.password, groups: await this.userGroupIds(id) });
    const outcome = await this.call(built, signal, context);
    if (outcome.kind === "success") return { key: this.keyOf(built, outcome.result), link: "created", built };
    // The vendor may have refused because the user is already there under a code we do not know.
    if (outcome.kind === "conflict" || outcome.kind === "invalid") {
      const existing = this.deps.mapping.has("lookup") ? await this.lookup(built, signal, context) : undefined;
      if (existing !== undefined) {
        if (this.deps.connection.existingUsers === "reject")
          throw new ScimError(409, "uniqueness", `${this.vendor} already has this user (${vendorDetail(outcome)}); this target does not adopt existing vendor users.`);
        return { key: existing, link: "adopted", built };
      }
      if (outcome.kind === "conflict")
        throw new ScimError(409, "uniqueness", `${this.vendor} reports the user as already existing (${vendorDetail(outcome)}), and no vendor user with the same name could be adopted: another attribute (email, phone) is taken.`);
    }
    throw this.refusal(outcome);
  }

  /** A SCIM POST: create at the vendor (in the status the user has), then the follow-up calls. */
  private async created(id: string, user: ScimDocument, context: ChangeContext, signal: AbortSignal): Promise<ProvisioningOutcome> {
    const { lifecycle } = this.deps.mapping.file;
    const inactive = user.active === false;
    // Under the delete policy an inactive user has no vendor user: nothing is created until reactivation.
    if (inactive && lifecycle.deactivate === "delete") return {};
    const made = await this.createAtVendor(id, user, context, signal);
    const link = await this.deps.store.recordLink({
      target: this.deps.target,
      scimId: id,
      vendor: this.vendor,
      vendorKey: made.key,
      link: made.link,
      userName: String(user.userName),
      acknowledged: this.acknowledgedAfterCreate(made.built, { ...user, id }, made.key, await this.userGroupIds(id)),
    });
    this.deps.log.info(made.link === "created" ? "vendor user created" : "vendor user adopted", { target: this.deps.target, scimId: id, vendor: this.vendor, vendorKey: made.key });
    await this.followUps(lifecycle.afterCreate, link, user, context, signal);
    await this.restoreMemberships(link, context, signal);
    if (inactive && !(lifecycle.createsWithStatus && made.link === "created") && lifecycle.deactivate === "disable") await this.deactivate(link, user, context, signal);
    else if (inactive && lifecycle.createsWithStatus) await this.deps.store.updateLink(this.deps.target, id, { state: "disabled" });
    return { annotations: { vendorKey: made.key, link: made.link } };
  }

  /** What the vendor now holds for this user, per operation, secrets left out. */
  private acknowledgedAfterCreate(built: BuiltCall, user: ScimDocument, key: string, groups: string[]): Record<string, Record<string, unknown>> {
    const strip = (call: BuiltCall) => Object.fromEntries(Object.entries(call.params).filter(([k]) => !call.secretParams.includes(k)));
    const acknowledged: Record<string, Record<string, unknown>> = { create: strip(built) };
    if (this.deps.mapping.has("update")) {
      try {
        acknowledged.update = strip(this.deps.mapping.build("update", { user, settings: this.settings, phoneRegion: this.deps.connection.phoneRegion, created: acknowledged.create, vendorKey: key, groups }));
      } catch {
        // the next update sends everything
      }
    }
    return acknowledged;
  }

  private get settings(): Record<string, string> {
    return this.deps.mapping.settingsWithDefaults(this.deps.connection.settings);
  }

  /** Builds and makes one operation's call for a linked user; a failure the IdP should see is thrown. */
  private async run(
    operation: string,
    link: VendorLink,
    user: ScimDocument,
    context: ChangeContext,
    signal: AbortSignal,
    tolerate: VendorOutcome["kind"][] = [],
    extras: Pick<BuildInput, "groups" | "groupKey"> = {},
  ): Promise<{ call: BuiltCall; outcome: VendorOutcome }> {
    const call = buildVendorCall(this.deps.mapping, this.deps.connection, operation, { ...user, id: link.scimId }, {
      password: context.password,
      created: link.acknowledged.create,
      vendorKey: link.vendorKey,
      groups: extras.groups ?? (await this.userGroupIds(link.scimId)),
      groupKey: extras.groupKey,
    });
    const outcome = await this.call(call, signal, context);
    if (outcome.kind !== "success" && !tolerate.includes(outcome.kind)) throw this.refusal(outcome);
    return { call, outcome };
  }

  private async followUps(operations: string[], link: VendorLink, user: ScimDocument, context: ChangeContext, signal: AbortSignal): Promise<void> {
    for (const operation of operations) {
      try {
        await this.run(operation, link, user, context, signal);
      } catch (error) {
        // The vendor user exists; a follow-up (a login password) that fails is reported, not undone.
        this.deps.log.error("vendor follow-up call failed", { target: this.deps.target, scimId: link.scimId, operation, detail: (error as Error).message });
      }
    }
  }

  /** Deactivation: the vendor's status call, or the vendor user removed, as the mapping's policy says. */
  private async deactivate(link: VendorLink, user: ScimDocument, context: ChangeContext, signal: AbortSignal): Promise<void> {
    const policy = this.deps.mapping.file.lifecycle.deactivate;
    if (policy === "none" || link.state !== "active") return;
    if (policy === "disable") {
      await this.run("disable", link, user, context, signal);
      await this.deps.store.updateLink(this.deps.target, link.scimId, { state: "disabled" });
    } else {
      await this.removeVendorUser(link, user, context, signal);
    }
    this.deps.log.info("vendor user deactivated", { target: this.deps.target, scimId: link.scimId, vendor: this.vendor, vendorKey: link.vendorKey, policy });
  }

  /** Before-delete follow-ups, then the delete; "not found" at the vendor counts as done. */
  private async removeVendorUser(link: VendorLink, user: ScimDocument, context: ChangeContext, signal: AbortSignal): Promise<void> {
    for (const operation of this.deps.mapping.file.lifecycle.beforeDelete) await this.run(operation, link, user, context, signal, ["notFound"]);
    await this.run("delete", link, user, context, signal, ["notFound"]);
    await this.deps.store.updateLink(this.deps.target, link.scimId, { state: "removed" });
  }

  private async reactivate(link: VendorLink | undefined, id: string, user: ScimDocument, context: ChangeContext, signal: AbortSignal): Promise<VendorLink> {
    const policy = this.deps.mapping.file.lifecycle.deactivate;
    if (link && link.state === "disabled") {
      await this.run("enable", link, user, context, signal);
      await this.deps.store.updateLink(this.deps.target, id, { state: "active" });
      return { ...link, state: "active" };
    }
    if (link && link.state === "active") return link;
    if (policy === "none" && link) return link;
    // Removed (or never created): create the vendor user again and record its new key.
    const made = await this.createAtVendor(id, user, context, signal);
    const fresh = await this.deps.store.recordLink({
      target: this.deps.target,
      scimId: id,
      vendor: this.vendor,
      vendorKey: made.key,
      link: made.link,
      userName: String(user.userName),
      acknowledged: this.acknowledgedAfterCreate(made.built, { ...user, id }, made.key, await this.userGroupIds(id)),
    });
    await this.followUps(this.deps.mapping.file.lifecycle.afterCreate, fresh, user, context, signal);
    await this.restoreMemberships(fresh, context, signal);
    this.deps.log.info("vendor user reactivated", { target: this.deps.target, scimId: id, vendor: this.vendor, vendorKey: made.key });
    return fresh;
  }

  private async linkOf(id: string): Promise<VendorLink | undefined> {
    return (await this.deps.store.linksOf(this.deps.target, [id])).get(id);
  }

  /**
   * A PUT or PATCH. The status change goes first and nothing else in the request can stop it: once a
   * deactivation reached the vendor, a profile field the vendor would refuse is logged, not answered.
   */
  private async changed(id: string, before: ScimDocument, after: ScimDocument, context: ChangeContext, signal: AbortSignal): Promise<void> {
    const { lifecycle } = this.deps.mapping.file;
    let link = await this.linkOf(id);
    const wasActive = before.active !== false;
    const isActive = after.active !== false;
    if (wasActive && !isActive && link) await this.deactivate(link, after, context, signal);
    if (!wasActive && isActive) link = await this.reactivate(link, id, after, context, signal);
    if (!link || link.state === "removed") return; // no vendor user: it is made from the SCIM state when reactivated
    if (!isActive && lifecycle.deactivate === "delete") return;
    const deactivating = wasActive && !isActive;
    try {
      link = await this.renamed(link, before, after, context, signal);
      await this.updateProfile(link, after, context, signal);
      if (context.password && this.deps.mapping.has("password")) await this.run("password", link, after, context, signal);
    } catch (error) {
      if (!deactivating) throw error;
      this.deps.log.warn("profile change not applied at the vendor; the deactivation was", { target: this.deps.target, scimId: id, detail: (error as Error).message });
    }
  }

  /** A change of a parameter the vendor never lets change: refused, or the vendor user re-created. */
  private async renamed(link: VendorLink, before: ScimDocument, after: ScimDocument, context: ChangeContext, signal: AbortSignal): Promise<VendorLink> {
    const { immutable, rename } = this.deps.mapping.file.lifecycle;
    if (immutable.length === 0) return link;
    const next = this.build("create", { ...after, id: link.scimId }, context);
    const previous = link.acknowledged.create ?? {};
    const changed = immutable.filter((p) => previous[p] !== undefined && String(previous[p]) !== String(next.params[p]));
    if (changed.length === 0) return link;
    if (rename === "reject")
      throw new ScimError(400, "mutability", `${this.vendor} cannot change ${changed.join(", ")} of an existing user (from '${String(previous[changed[0]!])}' to '${String(next.params[changed[0]!])}'); this target's mapping rejects renames. Keep the userName, or set lifecycle.rename: recreate.`);
    await this.removeVendorUser(link, before, context, signal);
    return this.reactivate(undefined, link.scimId, after, context, signal);
  }

  /** The update call with only what changed since the vendor last acknowledged it (patch), or everything (replace). */
  private async updateProfile(link: VendorLink, user: ScimDocument, context: ChangeContext, signal: AbortSignal, groups?: string[]): Promise<void> {
    if (!this.deps.mapping.has("update")) return;
    const op = this.deps.mapping.operation("update");
    const call = buildVendorCall(this.deps.mapping, this.deps.connection, "update", { ...user, id: link.scimId }, {
      created: link.acknowledged.create,
      vendorKey: link.vendorKey,
      groups: groups ?? (await this.userGroupIds(link.scimId)),
    });
    const last = link.acknowledged.update ?? {};
    const same = (k: string) => JSON.stringify(call.params[k]) === JSON.stringify(last[k]);
    const described = Object.keys(call.params).filter((k) => !call.identity.includes(k));
    const removed = Object.keys(last).filter((k) => !(k in call.params) && !call.identity.includes(k));
    const changed = described.filter((k) => !same(k));
    if (changed.length === 0 && removed.length === 0) return;
    // A value that is gone (the last group left, a phone removed) is sent empty, so the vendor clears it.
    const cleared = Object.fromEntries(removed.map((k) => [k, Array.isArray(last[k]) ? [] : ""]));
    const sent =
      op.mode === "replace"
        ? call
        : { ...call, params: { ...Object.fromEntries(Object.entries(call.params).filter(([k]) => call.identity.includes(k) || changed.includes(k))), ...cleared } };
    const outcome = await this.call(sent, signal, context);
    if (outcome.kind !== "success") throw this.refusal(outcome);
    await this.deps.store.updateLink(this.deps.target, link.scimId, { acknowledged: { ...link.acknowledged, update: call.params } });
  }

  /** A SCIM DELETE: the vendor user goes too (not found counts as done); the link record stays. */
  private async deleted(id: string, context: ChangeContext, signal: AbortSignal): Promise<void> {
    const link = await this.linkOf(id);
    if (link && link.state !== "removed") await this.removeVendorUser(link, {}, context, signal);
    if (link) await this.deps.store.markLinkDeleted(this.deps.target, id);
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

  // ---- drift repair (reconcile) ----

  /** Every vendor user, by the vendor's key, walking the `list` operation's pages. */
  async listVendorUsers(context: ChangeContext): Promise<Map<string, Record<string, unknown>>> {
    const op = this.deps.mapping.operation("list");
    const signal = AbortSignal.timeout(Math.max(this.deps.connection.deadlineMs, 60_000) * 10);
    const users = new Map<string, Record<string, unknown>>();
    const base = buildVendorCall(this.deps.mapping, this.deps.connection, "list", {});
    let page: unknown = op.paging?.style === "page" ? op.paging.first : undefined;
    for (let guard = 0; guard < 10_000; guard++) {
      const params = structuredClone(base.params);
      if (page !== undefined && op.paging) setPath(params, op.paging.param, page);
      const outcome = await this.call({ ...base, params }, signal, context);
      if (outcome.kind !== "success") throw this.refusal(outcome);
      const results = pick(outcome.result, op.results ?? "");
      const list = Array.isArray(results) ? (results as Record<string, unknown>[]) : [];
      for (const r of list) users.set(String(pick(r, op.id ?? "")), r);
      if (op.paging?.style === "page") {
        if (list.length < op.paging.size) break;
        page = (page as number) + 1;
      } else if (op.paging?.style === "token") {
        page = pick(outcome.result, op.paging.next);
        if (!page) break;
      } else break;
    }
    return users;
  }

  /** Whether a vendor record says the user cannot sign in. */
  vendorDisabled(record: Record<string, unknown>): boolean {
    const status = this.deps.mapping.operation("list").status;
    return status ? status.disabled.includes(String(pick(record, status.field))) : false;
  }

  /** Fields whose vendor value differs from what the vendor last acknowledged from the bridge. */
  fieldDrift(link: VendorLink, record: Record<string, unknown>): { field: string; vendor: unknown; bridge: unknown }[] {
    const compare = this.deps.mapping.operation("list").compare ?? {};
    const last = link.acknowledged.update ?? {};
    return Object.entries(compare)
      .filter(([field, param]) => last[param] !== undefined && String(last[param]) !== String(pick(record, field) ?? ""))
      .map(([field, param]) => ({ field, vendor: pick(record, field), bridge: last[param] }));
  }

  get deactivationPolicy(): "disable" | "delete" | "none" {
    return this.deps.mapping.file.lifecycle.deactivate;
  }

  /** Repairs, as reconcile --fix makes them. Each is what the lifecycle would have done. */
  async repair(action: "deactivate" | "enable" | "remove" | "recreate" | "update", link: VendorLink, user: ScimDocument, context: ChangeContext): Promise<void> {
    const signal = AbortSignal.timeout(this.deps.connection.deadlineMs);
    switch (action) {
      case "deactivate":
        return this.deactivate({ ...link, state: "active" }, user, context, signal);
      case "enable":
        await this.run("enable", link, user, context, signal);
        return this.deps.store.updateLink(this.deps.target, link.scimId, { state: "active" });
      case "remove":
        return this.removeVendorUser(link, user, context, signal);
      case "recreate":
        await this.reactivate({ ...link, state: "removed" }, link.scimId, user, context, signal);
        return;
      case "update":
        // Forget what was acknowledged, so every mapped field is sent again.
        return this.updateProfile({ ...link, acknowledged: { ...link.acknowledged, update: {} } }, user, context, signal);
    }
  }

  // ---- groups ----

  private get groupModel(): "membership" | "userAttribute" | undefined {
    return this.deps.mapping.file.groups?.model;
  }

  /** The vendor ids of a user's groups (after an optional pending change), for userAttribute mappings. */
  private async userGroupIds(userId: string, change?: { add?: string; remove?: string }): Promise<string[]> {
    if (this.groupModel !== "userAttribute") return [];
    const groups = (await this.deps.store.groupsOf(this.deps.target, [userId])).get(userId) ?? [];
    const ids = groups.map((g) => g.id).filter((id) => id !== change?.remove);
    if (change?.add && !ids.includes(change.add)) ids.push(change.add);
    const out: string[] = [];
    for (const id of ids) {
      const group = await this.deps.store.get(this.deps.target, "Group", id);
      const vendorId = group ? this.mappedGroup(group.doc) : undefined;
      if (vendorId !== undefined) out.push(vendorId);
    }
    return out;
  }

  /** The target's explicit table: a SCIM group's displayName or externalId → the vendor's group id. */
  private mappedGroup(group: ScimDocument): string | undefined {
    const map = this.deps.connection.groups.map;
    return map[String(group.displayName)] ?? (group.externalId !== undefined ? map[String(group.externalId)] : undefined);
  }

  /**
   * A membership vendor's group for a SCIM group: recorded link, the target's table, a vendor group of the
   * same name, or (policy `unknown`) a new vendor group, nothing, or a 400.
   */
  private async vendorGroupOf(groupId: string, group: ScimDocument, context: ChangeContext, signal: AbortSignal): Promise<string | undefined> {
    if (this.groupModel !== "membership") return undefined;
    const known = await this.deps.store.groupLinkOf(this.deps.target, groupId);
    if (known) return known.vendorGroupId;
    const record = async (vendorGroupId: string, createdByBridge: boolean) => {
      await this.deps.store.recordGroupLink({ target: this.deps.target, scimId: groupId, vendorGroupId, createdByBridge });
      return vendorGroupId;
    };
    const mapped = this.mappedGroup(group);
    if (mapped !== undefined) return record(mapped, false);
    if (this.deps.mapping.has("findGroup")) {
      const found = await this.findVendorGroup(group, context, signal);
      if (found !== undefined) return record(found, false);
    }
    const policy = this.deps.connection.groups.unknown;
    if (policy === "reject")
      throw new ScimError(400, "invalidValue", `The group '${String(group.displayName)}' has no group at ${this.vendor}; add it to the target's vendor.groups.map or allow unknown groups.`);
    if (policy === "skip" || !this.deps.mapping.has("createGroup")) return undefined;
    const call = buildVendorCall(this.deps.mapping, this.deps.connection, "createGroup", group);
    const outcome = await this.call(call, signal, context);
    if (outcome.kind !== "success") throw this.refusal(outcome);
    const op = this.deps.mapping.operation("createGroup");
    const id = pick(outcome.result, op.id ?? "");
    if (typeof id !== "string" && typeof id !== "number") throw new ScimError(502, null, `${this.vendor} created the group without the id the mapping expects at '${op.id}'.`);
    this.deps.log.info("vendor group created", { target: this.deps.target, scimGroupId: groupId, vendorGroupId: String(id) });
    return record(String(id), true);
  }

  private async findVendorGroup(group: ScimDocument, context: ChangeContext, signal: AbortSignal): Promise<string | undefined> {
    const op = this.deps.mapping.operation("findGroup");
    const call = buildVendorCall(this.deps.mapping, this.deps.connection, "findGroup", group);
    const outcome = await this.call(call, signal, context);
    if (outcome.kind !== "success" || !op.match) return undefined;
    const results = pick(outcome.result, op.results ?? "");
    const wanted = String(call.params[op.match.param] ?? "").toLowerCase();
    const found = Array.isArray(results) ? results.find((r) => String(pick(r, op.match!.field) ?? "").toLowerCase() === wanted) : undefined;
    const id = found ? pick(found, op.id ?? "") : undefined;
    return typeof id === "string" || typeof id === "number" ? String(id) : undefined;
  }

  /** Members joined or left a SCIM group: membership calls, or the members' user records updated. */
  private async membersChanged(groupId: string, added: string[], removed: string[], context: ChangeContext, signal: AbortSignal): Promise<void> {
    const group = await this.deps.store.get(this.deps.target, "Group", groupId);
    if (!group || !this.groupModel) return;
    const links = await this.deps.store.linksOf(this.deps.target, [...added, ...removed]);
    // A member without a vendor user (not provisioned, or removed while inactive) is applied when it gets one.
    const present = (id: string) => {
      const link = links.get(id);
      return link && link.state !== "removed" ? link : undefined;
    };
    if (this.groupModel === "membership") {
      const vendorGroupId = await this.vendorGroupOf(groupId, group.doc, context, signal);
      if (vendorGroupId === undefined) return;
      for (const id of added) {
        const link = present(id);
        if (link) await this.run("addMember", link, {}, context, signal, ["conflict"], { groupKey: vendorGroupId, groups: [] });
      }
      for (const id of removed) {
        const link = present(id);
        if (link) await this.run("removeMember", link, {}, context, signal, ["notFound"], { groupKey: vendorGroupId, groups: [] });
      }
      return;
    }
    for (const [ids, change] of [[added, "add"], [removed, "remove"]] as const) {
      for (const id of ids) {
        const link = present(id);
        const user = link ? await this.deps.store.get(this.deps.target, "User", id) : undefined;
        if (link && user) await this.updateProfile(link, user.doc, context, signal, await this.userGroupIds(id, { [change]: groupId }));
      }
    }
  }

  /** A newly created or re-created vendor user joins the vendor groups of its SCIM groups again. */
  private async restoreMemberships(link: VendorLink, context: ChangeContext, signal: AbortSignal): Promise<void> {
    if (this.groupModel !== "membership") return;
    const groups = (await this.deps.store.groupsOf(this.deps.target, [link.scimId])).get(link.scimId) ?? [];
    for (const g of groups) {
      const group = await this.deps.store.get(this.deps.target, "Group", g.id);
      const vendorGroupId = group ? await this.vendorGroupOf(g.id, group.doc, context, signal) : undefined;
      if (vendorGroupId !== undefined) await this.run("addMember", link, {}, context, signal, ["conflict"], { groupKey: vendorGroupId, groups: [] });
    }
  }

  /** A SCIM group deleted: its vendor group too if the bridge created it; otherwise the members leave it. */
  private async groupDeleted(groupId: string, group: ScimDocument, context: ChangeContext, signal: AbortSignal): Promise<void> {
    const members = (await this.deps.store.members(this.deps.target, groupId)).map((m) => m.value);
    if (this.groupModel === "membership") {
      const link = await this.deps.store.groupLinkOf(this.deps.target, groupId);
      if (link?.createdByBridge && this.deps.mapping.has("deleteGroup")) {
        const call = buildVendorCall(this.deps.mapping, this.deps.connection, "deleteGroup", group, { groupKey: link.vendorGroupId });
        const outcome = await this.call(call, signal, context);
        if (outcome.kind !== "success" && outcome.kind !== "notFound") throw this.refusal(outcome);
      } else if (link) {
        await this.membersChanged(groupId, [], members, context, signal);
      }
      if (link) await this.deps.store.removeGroupLink(this.deps.target, groupId);
      return;
    }
    if (this.groupModel === "userAttribute") await this.membersChanged(groupId, [], members, context, signal);
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

/** Sets a dotted path ("Pageable.PageNumber") in a parameter object. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1]!] = value;
}

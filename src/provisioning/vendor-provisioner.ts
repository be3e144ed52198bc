/**
 * The provisioner of a target with a vendor: a SCIM change becomes the mapped, signed vendor calls, and the
 * vendor's answers decide what the IdP is told. A user is recorded with its outbox work first, and the
 * outbox brings the vendor in line (`deliver`); a group change is applied before the store records it.
 */
import { StoreUnavailableError, type ScimDocument, type VendorLink } from "../store/types";
import { pick } from "../vendors/connector-base";
import type { ChangeContext, Provisioner, ResourceChange, Step } from "./provisioner";
import { UserCreation } from "./user-creation";
import { UserDeprovisioning } from "./user-deprovisioning";
import { UserLifecycle } from "./user-lifecycle";
import { VendorRefusal } from "./refusal";
import { DeadlineExceeded } from "./retry";
import { buildVendorCall, nameHashOf, VendorCalls, type VendorProvisionerDeps } from "./vendor-calls";
import { GroupSync } from "./vendor-groups";

export { buildVendorCall, type VendorProvisionerDeps };

export class VendorProvisioner implements Provisioner {
  private readonly calls: VendorCalls;
  private readonly groups: GroupSync;
  private readonly users: UserLifecycle;
  private readonly creation: UserCreation;
  private readonly deprovisioning: UserDeprovisioning;

  constructor(private readonly deps: VendorProvisionerDeps) {
    this.calls = new VendorCalls(deps);
    this.groups = new GroupSync(this.calls);
    this.creation = new UserCreation(this.calls, this.groups);
    this.deprovisioning = new UserDeprovisioning(this.calls, this.groups);
    this.users = new UserLifecycle(this.calls, this.groups, this.creation, this.deprovisioning);
  }

  get vendor(): string {
    return this.calls.vendor;
  }

  /** The state of this target's credential circuit (shared with every target and process using the credential). */
  circuitNow(): Promise<"closed" | "open" | "probing"> {
    return this.deps.governor.circuitNow();
  }

  /**
   * A group change, applied before the store records it (users go through the outbox: `deliver`). A
   * group's `replace` renames the vendor group the bridge created (see GroupSync.groupRenamed).
   */
  async apply(change: ResourceChange, context: ChangeContext): Promise<void> {
    const step: Step = { ...context, signal: AbortSignal.timeout(this.deps.connection.deadlineMs) };
    try {
      if (change.op === "members") await this.groups.membersChanged(change.groupId, change.added, change.removed, step, change.applied);
      else if (change.op === "create") await this.groups.vendorGroupOf(change.id, change.after, step);
      else if (change.op === "replace") await this.groups.groupRenamed(change.id, change.before.doc, change.after, step);
      else if (change.op === "delete") await this.groups.groupDeleted(change.id, change.before.doc, step);
    } catch (error) {
      if (error instanceof DeadlineExceeded || (step.signal.aborted && !(error instanceof StoreUnavailableError))) {
        const waited = `${this.calls.vendor} did not answer within ${this.deps.connection.deadlineMs / 1000} s`;
        if (change.op === "members") throw new VendorRefusal("timeout", `${waited}; the members it acknowledged are kept, and retrying applies the rest.`);
        throw new VendorRefusal("timeout", `${waited}; nothing was kept. Retrying is safe.`);
      }
      throw error;
    }
  }

  get groupsOnUsers(): boolean {
    return this.groups.groupModel === "userAttribute";
  }

  /** The mapping's rules for the user, checked without calling anyone (they are the create's). */
  get takesPasswords(): boolean {
    return this.deps.mapping.has("password");
  }

  checkUser(id: string, user: ScimDocument, password?: string): void {
    buildVendorCall(this.deps.mapping, this.deps.connection, "create", { ...user, id }, { password });
  }

  /** The outbox's run for a user: the vendor brought in line with the SCIM user as stored now; gone → removed. */
  async deliver(scimId: string, step: Step, removedDoc?: ScimDocument): Promise<void> {
    const resource = await this.deps.resources.get(this.deps.target, "User", scimId);
    // A create whose answer was lost is settled first: a delete or deactivation that follows must reach it.
    const known = resource?.doc ?? removedDoc;
    if (known) await this.creation.resolveLostCreate(scimId, known, step);
    if (!resource) return this.deprovisioning.deleted(scimId, step, removedDoc);
    return this.users.converge(scimId, resource.doc, step);
  }

  // ---- drift (reconcile) ----

  /** Every vendor user, by the vendor's key, walking the `list` operation's pages. */
  async listVendorUsers(context: ChangeContext): Promise<Map<string, Record<string, unknown>>> {
    const op = this.deps.mapping.operation("list");
    const step: Step = { ...context, signal: AbortSignal.timeout(Math.max(this.deps.connection.deadlineMs, 60_000) * 10) };
    const users = new Map<string, Record<string, unknown>>();
    const base = buildVendorCall(this.deps.mapping, this.deps.connection, "list", {});
    const failed = await this.calls.eachPage(base, step, undefined, (list) => {
      for (const r of list) users.set(String(pick(r, op.id ?? "")), r);
      return false;
    });
    if (failed) throw this.calls.refusal(failed);
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

  /**
   * A vendor user that any live SCIM user links (on any target of the same vendor account) is never
   * removed as an orphan: the orphan is the stale link, not the account.
   */
  private async refuseIfLinkedByLiveUser(link: VendorLink): Promise<void> {
    const { links, resources, accountTargets } = this.deps;
    for (const holder of await links.holding(accountTargets, link.vendorKey)) {
      if (holder.target === link.target && holder.scimId === link.scimId) continue;
      if (await resources.get(holder.target, "User", holder.scimId))
        throw new Error(
          `vendor user ${link.vendorKey} is linked to a live SCIM user (${holder.target === link.target ? `'${holder.userName}'` : "of another target"}); not removed`,
        );
    }
  }

  /**
   * Vendor users no link of the account holds, that this target's trail says it created (or may have: a
   * create cut off by the deadline, or answered with a transient error). Matched by the key the vendor
   * answered with, else by the hash of the unique name.
   */
  async unlinkedCreations(vendorUsers: Map<string, Record<string, unknown>>): Promise<UnlinkedCreation[]> {
    const { trail, links, accountTargets, target, mapping } = this.deps;
    const creations = await trail.createCalls(target);
    if (creations.length === 0) return [];
    const byKey = new Map(creations.filter((c) => c.vendorKey).map((c) => [c.vendorKey!, c]));
    const byName = new Map(creations.filter((c) => c.nameHash).map((c) => [c.nameHash!, c]));
    const nameField = mapping.has("lookup") ? mapping.operation("lookup").match?.field : undefined;
    // Any link, in any state, already accounts for its vendor user (as live, disabled, missing or orphan).
    const linked = new Set<string>();
    for (const t of accountTargets) for (const link of await links.all(t)) linked.add(link.vendorKey);
    const found: UnlinkedCreation[] = [];
    for (const [key, record] of vendorUsers) {
      if (linked.has(key)) continue;
      const name = nameField ? pick(record, nameField) : undefined;
      const call = byKey.get(key) ?? (typeof name === "string" ? byName.get(nameHashOf(name)) : undefined);
      if (!call) continue;
      found.push({
        vendorKey: key,
        ...(typeof name === "string" ? { name } : {}),
        ...(call.scimId ? { scimId: call.scimId } : {}),
        requestId: call.requestId,
        at: call.at,
        outcome: call.outcome,
      });
    }
    return found;
  }

  get deactivationPolicy(): "disable" | "delete" | "none" {
    return this.deps.mapping.file.lifecycle.deactivate;
  }

  /** Repairs, as reconcile --fix makes them. Each is what the lifecycle would have done. */
  async repair(
    action: "deactivate" | "enable" | "remove" | "recreate" | "update",
    link: VendorLink,
    user: ScimDocument,
    context: ChangeContext,
  ): Promise<void> {
    const step: Step = { ...context, signal: AbortSignal.timeout(this.deps.connection.deadlineMs) };
    switch (action) {
      case "deactivate":
        return this.deprovisioning.deactivate({ ...link, state: "active" }, user, step);
      case "enable":
        await this.calls.run("enable", link, user, step);
        return this.deps.links.update(this.deps.target, link.scimId, { state: "active" });
      case "remove":
        await this.refuseIfLinkedByLiveUser(link);
        return this.deprovisioning.removeVendorUser(link, user, step);
      case "recreate":
        await this.users.reactivate({ ...link, state: "removed" }, link.scimId, user, step);
        return;
      case "update":
        // Forget what was acknowledged, so every mapped field is sent again.
        return this.users.updateProfile({ ...link, acknowledged: { ...link.acknowledged, update: {} } }, user, step);
    }
  }
}

/** What reconcile reports of a vendor user the trail says the bridge created, that no link holds. */
export interface UnlinkedCreation {
  vendorKey: string;
  name?: string;
  scimId?: string;
  requestId: string;
  at: string;
  outcome: string;
}

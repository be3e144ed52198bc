/**
 * A user's life at the vendor, as the outbox runs it: created when it has no vendor user yet
 * (user-creation.ts); its status changed first and never blocked (deactivation: user-deprovisioning.ts);
 * renames; profile diffs against what the vendor last acknowledged; passwords.
 */
import type { VendorConnection } from "../config/schema";
import type { Logger } from "../log";
import type { CompiledMapping } from "../mapping/compile";
import type { LinkStore } from "../store/links/port";
import type { ScimDocument, VendorLink } from "../store/types";
import type { Step } from "./provisioner";
import { VendorRefusal } from "./refusal";
import type { UserCreation } from "./user-creation";
import type { UserDeprovisioning } from "./user-deprovisioning";
import { buildVendorCall, type VendorCalls } from "./vendor-calls";
import type { GroupSync } from "./vendor-groups";

/**
 * An update found no vendor user: it was deleted outside the bridge. A user change handles it (marks the
 * link removed, creates the user again); anywhere else it is this 400, which says what happened.
 */
class VendorUserLost extends VendorRefusal {
  constructor() {
    super(
      "invalid",
      "The vendor no longer has this user (it was deleted outside the bridge); the next change of the user creates it again, and reconcile reports it.",
    );
  }
}

export class UserLifecycle {
  private readonly target: string;
  private readonly mapping: CompiledMapping;
  private readonly connection: VendorConnection;
  private readonly links: LinkStore;
  private readonly log: Logger;

  constructor(
    private readonly calls: VendorCalls,
    private readonly groups: GroupSync,
    private readonly creation: UserCreation,
    private readonly deprovisioning: UserDeprovisioning,
  ) {
    ({ target: this.target, mapping: this.mapping, connection: this.connection, links: this.links, log: this.log } = calls.deps);
  }

  /**
   * Brings the vendor in line with the SCIM user as it is now (the outbox's unit of work): no vendor user
   * yet → created; otherwise status first, then renames and the profile diff against what the vendor last
   * acknowledged. What the link says the vendor holds stands for "before", so work that was cut off part-way
   * is finished by the next run.
   */
  async converge(id: string, user: ScimDocument, step: Step): Promise<void> {
    const link = await this.linkOf(id);
    if (!link) return this.creation.created(id, user, step);
    await this.changed(id, { ...user, active: link.state === "active" }, user, step);
  }

  private async linkOf(id: string): Promise<VendorLink | undefined> {
    return (await this.links.of(this.target, [id])).get(id);
  }

  /**
   * A linked user changed (a PUT or PATCH, as the outbox runs it). The status change goes first and nothing
   * else in the change can stop it: once a deactivation reached the vendor, a profile field the vendor would
   * refuse is logged, not answered.
   */
  async changed(id: string, before: ScimDocument, after: ScimDocument, step: Step): Promise<void> {
    let link = await this.linkOf(id);
    const wasActive = before.active !== false;
    const isActive = after.active !== false;
    // An inactive user whose vendor user is still active (a step that failed before) is deactivated again,
    // whatever the document said before: the link, not the document, says what the vendor holds.
    if (!isActive && link) await this.deprovisioning.deactivate(link, after, step, step.deactivates === true && !wasActive);
    const reactivating = !wasActive && isActive;
    if (reactivating) link = await this.reactivate(link, id, after, step);
    if (!link || link.state === "removed") return; // no vendor user: it is made from the SCIM state when reactivated
    // Under the delete policy an inactive user has no vendor user (this link may predate the delete just made).
    if (!isActive && this.mapping.file.lifecycle.deactivate === "delete") return;
    const deactivating = !isActive && (wasActive || step.deactivates === true);
    try {
      // An inactive user's vendor user gets its status (and a password the IdP sets) and nothing else: its
      // profile and name wait for the reactivation, which diffs against what the vendor last acknowledged.
      // Entra renames a soft-deleted user (the object id before the UPN); that name must not reach the
      // vendor, and it is gone again on restore.
      if (isActive) {
        link = await this.renamed(link, before, after, step);
        await this.updateProfile(link, after, step);
      }
      if (step.password && !step.passwordDelivered && this.mapping.has("password")) {
        const { outcome } = await this.calls.run("password", link, after, step, ["notFound"]);
        if (outcome.kind === "notFound") throw new VendorUserLost();
      }
    } catch (error) {
      if (error instanceof VendorUserLost) return this.lost(link, after, isActive, step);
      // A reactivation whose other changes are refused is undone: the store keeps the user inactive, so the
      // vendor user must not stay enabled.
      if (reactivating) await this.undoReactivation(link, after, step);
      if (!deactivating) throw error;
      this.log.warn("profile change not applied at the vendor; the deactivation was", {
        target: this.target,
        scimId: id,
        detail: (error as Error).message,
      });
    }
  }

  private async undoReactivation(link: VendorLink, user: ScimDocument, step: Step): Promise<void> {
    try {
      await this.deprovisioning.deactivate(link, { ...user, active: false }, step);
    } catch (error) {
      this.log.error("a refused reactivation could not be undone: the vendor user is enabled while the bridge holds it inactive", {
        target: this.target,
        scimId: link.scimId,
        detail: (error as Error).message,
      });
    }
  }

  /**
   * The vendor answered "no such user" to an update: it was deleted outside the bridge. The link is marked
   * removed (reconcile and the trail show it), and an active user is created again from its SCIM state —
   * what the IdP asked for — rather than failing every later update with the same 400.
   */
  private async lost(link: VendorLink, user: ScimDocument, active: boolean, step: Step): Promise<void> {
    await this.links.update(this.target, link.scimId, { state: "removed" });
    this.log.warn("vendor user deleted outside the bridge; link marked removed", {
      target: this.target,
      scimId: link.scimId,
      vendorKey: link.vendorKey,
      recreate: active,
    });
    if (!active) return;
    try {
      await this.reactivate({ ...link, state: "removed" }, link.scimId, user, step);
    } catch (error) {
      if (!(error instanceof VendorRefusal)) throw error;
      throw new VendorRefusal(
        error.reason,
        `${this.calls.vendor} no longer has this user (deleted outside the bridge), and creating it again failed: ${error.message}`,
        error.vendorCode,
        error.vendorRequestId,
        error.retryAfter,
      );
    }
  }

  /** A change of a parameter the vendor never lets change: refused, or the vendor user re-created. */
  async renamed(link: VendorLink, before: ScimDocument, after: ScimDocument, step: Step): Promise<VendorLink> {
    const { immutable, rename } = this.mapping.file.lifecycle;
    if (immutable.length === 0) return link;
    const next = this.calls.build("create", { ...after, id: link.scimId }, step);
    const previous = link.acknowledged.create ?? {};
    const changed = immutable.filter((p) => previous[p] !== undefined && String(previous[p]) !== String(next.params[p]));
    if (changed.length === 0) return link;
    if (rename === "reject")
      throw new VendorRefusal(
        "immutable",
        `${this.calls.vendor} cannot change ${changed.join(", ")} of an existing user (from '${String(previous[changed[0]!])}' to '${String(next.params[changed[0]!])}'); this target's mapping rejects renames. Keep the userName, or set lifecycle.rename: recreate.`,
      );
    await this.deprovisioning.removeVendorUser(link, before, step);
    return this.reactivate(undefined, link.scimId, after, step);
  }

  /** The update call with only what changed since the vendor last acknowledged it (patch), or everything (replace). */
  async updateProfile(link: VendorLink, user: ScimDocument, step: Step, groups?: string[]): Promise<void> {
    if (!this.mapping.has("update")) return;
    const op = this.mapping.operation("update");
    const call = buildVendorCall(
      this.mapping,
      this.connection,
      "update",
      { ...user, id: link.scimId },
      {
        created: link.acknowledged.create,
        vendorKey: link.vendorKey,
        groups: groups ?? (await this.groups.userGroupIds(link.scimId)),
      },
    );
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
        : {
            ...call,
            params: { ...Object.fromEntries(Object.entries(call.params).filter(([k]) => call.identity.includes(k) || changed.includes(k))), ...cleared },
          };
    const outcome = await this.calls.call(sent, step, link.scimId);
    if (outcome.kind === "notFound") throw new VendorUserLost();
    if (outcome.kind !== "success") throw this.calls.refusal(outcome);
    await this.links.update(this.target, link.scimId, { acknowledged: { ...link.acknowledged, update: call.params } });
  }

  async reactivate(link: VendorLink | undefined, id: string, user: ScimDocument, step: Step): Promise<VendorLink> {
    const policy = this.mapping.file.lifecycle.deactivate;
    if (link && link.state === "disabled") {
      await this.calls.run("enable", link, user, step);
      await this.links.update(this.target, id, { state: "active" });
      return { ...link, state: "active" };
    }
    if (link && link.state === "active") return link;
    if (policy === "none" && link) return link;
    // Removed (or never created): create the vendor user again and record its new key.
    const made = await this.creation.createAtVendor(id, user, step);
    return this.creation.linkMade(id, user, made, step);
  }
}

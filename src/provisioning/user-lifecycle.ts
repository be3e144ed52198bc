/**
 * A user's life at the vendor: created (or adopted) on POST, its status changed first and never blocked,
 * renames, profile diffs against what the vendor last acknowledged, passwords, and removal on DELETE.
 */
import type { NewVendorLink, ScimDocument, VendorLink } from "../store/types";
import { codeMatches } from "../vendors/classify";
import { pick } from "../vendors/connector-base";
import { ERROR_CLASSES } from "../vendors/types";
import type { VendorConnection } from "../config/schema";
import type { KeyedLock } from "../lib/keyed-lock";
import type { Logger } from "../log";
import type { BuiltCall, CompiledMapping } from "../mapping/compile";
import type { StoreLocks } from "../store/admin/port";
import type { LinkStore } from "../store/links/port";
import type { ResourceStore } from "../store/resources/port";
import type { TrailStore } from "../store/trail/port";
import type { Step } from "./provisioner";
import { buildVendorCall, nameHashOf, vendorDetail, type VendorCalls, type VendorFailure } from "./vendor-calls";
import type { GroupSync } from "./vendor-groups";
import { VendorRefusal } from "./refusal";

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

/**
 * The vendor refuses to delete the user while something holds it that the bridge could not clear: the
 * deletion waits for an administrator (paged as a refused deprovisioning, then `outbox retry`).
 * `disabled`: the user was disabled first, so it cannot sign in meanwhile.
 */
class DeletionBlocked extends VendorRefusal {
  constructor(
    readonly disabled: boolean,
    message: string,
    refused: VendorFailure,
  ) {
    super("invalid", message, refused.code, refused.requestId);
  }
}

/** Why a vendor holds up a deletion, as the mapping's lifecycle.deleteBlocked names it. */
type DeletionHold = "memberships" | "manual";

/** A vendor user just created or adopted, and the create call that made or found it. */
interface MadeUser {
  key: string;
  link: "created" | "adopted";
  built: BuiltCall;
  /** Made by this run's own create call (so in the status that call asked for). */
  fresh?: boolean;
}

export class UserLifecycle {
  private readonly target: string;
  private readonly mapping: CompiledMapping;
  private readonly connection: VendorConnection;
  private readonly resources: ResourceStore;
  private readonly links: LinkStore;
  private readonly trail: TrailStore;
  private readonly log: Logger;
  /** Serialise, in this process and across processes, the check that a vendor user is free with the link that takes it. */
  private readonly adoptionLock: KeyedLock;
  private readonly locks: StoreLocks;
  private readonly account: string;
  private readonly accountTargets: string[];

  constructor(
    private readonly calls: VendorCalls,
    private readonly groups: GroupSync,
  ) {
    ({ target: this.target, mapping: this.mapping, connection: this.connection, resources: this.resources, links: this.links, trail: this.trail } = calls.deps);
    ({ log: this.log, adoptionLock: this.adoptionLock, locks: this.locks, account: this.account, accountTargets: this.accountTargets } = calls.deps);
  }

  /**
   * Creates (or adopts) the vendor user; returns its key and how it was linked. A create whose answer never
   * came (the run's `intent` says so) is looked up first: the vendor user it made is taken, never created twice.
   */
  async createAtVendor(id: string, user: ScimDocument, step: Step, again = false): Promise<MadeUser> {
    const built = await this.createCall(id, user, step);
    if (step.intent?.lookupFirst && this.mapping.has("lookup")) {
      const existing = await this.lookup(built, step, id, true);
      if (existing !== undefined) return { key: existing, link: "created", built };
      // The vendor answered that it has no such user: the lost create did not land; no need to look again.
      await step.intent?.answered();
    }
    // The call records the intent once it has its rate-limit slot, just before it goes out.
    const outcome = await this.calls.call(built, step, id);
    if (outcome.kind === "success") return { key: this.keyOf(built, outcome.result), link: "created", built, fresh: true };
    // The vendor may have refused because the user is already there under a code we do not know.
    if (outcome.kind === "conflict" || outcome.kind === "invalid") {
      const existing = this.mapping.has("lookup") ? await this.lookup(built, step, id) : undefined;
      if (existing !== undefined) {
        if (this.connection.existingUsers === "adopt") return { key: existing, link: "adopted", built };
        // Under reject, a vendor user this target's own earlier create made (its answer lost) is still ours.
        if (await this.createdByThisTarget(built, existing)) return { key: existing, link: "created", built };
        throw new VendorRefusal(
          "conflict",
          `${this.calls.vendor} already has this user (${vendorDetail(outcome)}); this target does not adopt existing vendor users.`,
          outcome.code,
          outcome.requestId,
        );
      }
      // The user it meant may have just been removed (a deleted user's cleanup): the create is tried once more.
      if (outcome.kind === "conflict" && !again) return this.createAtVendor(id, user, step, true);
      if (outcome.kind === "conflict")
        throw new VendorRefusal(
          "conflict",
          `${this.calls.vendor} reports the user as already existing (${vendorDetail(outcome)}), and no vendor user with the same name could be adopted: another attribute (email, phone) is taken.`,
          outcome.code,
          outcome.requestId,
        );
    }
    throw this.calls.refusal(outcome);
  }

  /** Whether the trail shows a create of this target for the same unique name that landed or may have (and no key other than this one). */
  private async createdByThisTarget(built: BuiltCall, key: string): Promise<boolean> {
    const name = this.calls.uniqueNameOf(built);
    if (name === undefined) return false;
    const earlier = await this.trail.createCalls(this.target, [nameHashOf(name)]);
    return earlier.some((call) => call.vendorKey === undefined || call.vendorKey === key);
  }

  /**
   * A user with no vendor user yet: created at the vendor (in the status the user has), then linked, then
   * its follow-up calls. An inactive user is disabled before it is linked: a leaver never gets an open account.
   */
  async created(id: string, user: ScimDocument, step: Step): Promise<void> {
    const { lifecycle } = this.mapping.file;
    const inactive = user.active === false;
    // Under the delete policy an inactive user has no vendor user: nothing is created until reactivation.
    if (inactive && lifecycle.deactivate === "delete") return;
    const made = await this.createAtVendor(id, user, step);
    let state: VendorLink["state"] = "active";
    // Only a vendor user this run created is in the status its create asked for; one found may be enabled.
    if (inactive && lifecycle.createsWithStatus && made.fresh) state = "disabled";
    else if (inactive && lifecycle.deactivate === "disable") {
      const { outcome } = await this.calls.run("disable", this.pendingLink(id, user, made), user, step, ["notFound"]);
      state = outcome.kind === "notFound" ? "removed" : "disabled";
    }
    await this.linkMade(id, user, made, step, { state });
  }

  /** The link a vendor user just made will have, before it is recorded. */
  private pendingLink(id: string, user: ScimDocument, made: MadeUser): VendorLink {
    return {
      target: this.target,
      scimId: id,
      vendor: this.calls.vendor,
      vendorKey: made.key,
      link: made.link,
      userName: String(user.userName),
      state: "active",
      acknowledged: { create: made.built.params },
      createdAt: "",
    };
  }

  /**
   * Records a vendor user just created or adopted — refused when any link on the same vendor account (any
   * target, any other SCIM user) already holds it — then its follow-up calls and its groups.
   */
  async linkMade(id: string, user: ScimDocument, made: MadeUser, step: Step, options: { state?: VendorLink["state"] } = {}): Promise<VendorLink> {
    const record: NewVendorLink = {
      target: this.target,
      scimId: id,
      vendor: this.calls.vendor,
      vendorKey: made.key,
      link: made.link,
      userName: String(user.userName),
      state: options.state ?? "active",
      acknowledged: this.acknowledgedAfterCreate(made.built, { ...user, id }, made.key, await this.groups.userGroupIds(id)),
    };
    const lockKey = `vendor-user:${this.account}:${made.key}`;
    const link = await this.adoptionLock.run(lockKey, () =>
      this.locks.exclusive(lockKey, async () => {
        await this.refuseIfHeld(id, made);
        return this.links.record(record);
      }),
    );
    // The create's outcome is recorded now: a later run never has to look it up.
    await step.intent?.answered();
    this.log.info(made.link === "created" ? "vendor user created" : "vendor user adopted", {
      target: this.target,
      scimId: id,
      vendor: this.calls.vendor,
      vendorKey: made.key,
    });
    if (link.state === "removed") return link;
    try {
      await this.followUps(this.mapping.file.lifecycle.afterCreate, link, user, step);
      await this.groups.restoreMemberships(link, step);
    } catch (error) {
      this.log.error("vendor user created, but its group memberships were not all restored", {
        target: this.target,
        scimId: id,
        detail: (error as Error).message,
      });
    }
    return link;
  }

  /** A vendor user belongs to one SCIM user: 409 when another link (this target's or another's on the same account) holds it. */
  private async refuseIfHeld(id: string, made: MadeUser): Promise<void> {
    const holders = (await this.links.holding(this.accountTargets, made.key)).filter((l) => !(l.target === this.target && l.scimId === id));
    if (holders.length === 0) return;
    const holder = holders[0]!;
    // Held by a deleted user whose vendor user is still being removed (a delete, then the same name again):
    // not a conflict for ever, only until that removal is through.
    if (!(await this.resources.get(holder.target, "User", holder.scimId)))
      throw new VendorRefusal(
        "unavailable",
        `${this.calls.vendor} user ${made.key} still belongs to a deleted user whose removal at the vendor is pending; this user is linked once it is through.`,
      );
    this.log.warn("vendor user already linked; not linked again", {
      target: this.target,
      scimId: id,
      vendorKey: made.key,
      heldBy: { target: holder.target, scimId: holder.scimId },
    });
    if (holder.target === this.target)
      throw new VendorRefusal(
        "conflict",
        `${this.calls.vendor} user ${made.key} already belongs to the SCIM user '${holder.userName}' of this target (their names map to the same vendor user); one vendor user is linked to one SCIM user.`,
      );
    throw new VendorRefusal(
      "conflict",
      `${this.calls.vendor} user ${made.key} is already linked by another target of this bridge on the same vendor account; it is not taken over. An administrator can see which in the bridge's log.`,
    );
  }

  /** What the vendor now holds for this user, per operation, secrets left out. */
  acknowledgedAfterCreate(built: BuiltCall, user: ScimDocument, key: string, groups: string[]): Record<string, Record<string, unknown>> {
    const strip = (call: BuiltCall) => Object.fromEntries(Object.entries(call.params).filter(([k]) => !call.secretParams.includes(k)));
    const acknowledged: Record<string, Record<string, unknown>> = { create: strip(built) };
    if (this.mapping.has("update")) {
      try {
        acknowledged.update = strip(
          this.mapping.build("update", {
            user,
            settings: this.calls.settings,
            phoneRegion: this.connection.phoneRegion,
            created: acknowledged.create,
            vendorKey: key,
            groups,
          }),
        );
      } catch {
        // the next update sends everything
      }
    }
    return acknowledged;
  }

  async followUps(operations: string[], link: VendorLink, user: ScimDocument, step: Step): Promise<void> {
    for (const operation of operations) {
      try {
        await this.calls.run(operation, link, user, step);
        if (operation === "password" && step.password !== undefined) step.passwordDelivered = true;
      } catch (error) {
        // The vendor user exists; a follow-up (a login password) that fails is reported, not undone.
        this.log.error("vendor follow-up call failed", {
          target: this.target,
          scimId: link.scimId,
          operation,
          detail: (error as Error).message,
        });
      }
    }
  }

  /**
   * A vendor that refuses a step of a deprovisioning (the RAM login removal before RemoveUsers, say) leaves
   * the leaver with access: an error for an operator, whatever the refusal. The outbox keeps trying. A
   * deletion held up with the user disabled is an error too: an administrator must clear what holds it.
   */
  private async deprovisioning(what: string, link: VendorLink, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (error instanceof VendorRefusal && !error.retryable) {
        const disabled = error instanceof DeletionBlocked && error.disabled;
        this.log.error(
          disabled
            ? "vendor user disabled, but the vendor refuses to delete it until an administrator acts"
            : "vendor refused a deprovisioning step; the user may still have access",
          {
            target: this.target,
            scimId: link.scimId,
            vendorKey: link.vendorKey,
            what,
            code: error.vendorCode,
            requestIdAtVendor: error.vendorRequestId,
            detail: error.message,
          },
        );
      }
      throw error;
    }
  }

  /**
   * Deactivation: the vendor's status call, or the vendor user removed, as the mapping's policy says.
   * `again`: the request deactivates a user the bridge already holds disabled: the status call is sent once
   * more (it is idempotent at the vendor), so a vendor user enabled behind the bridge's back is caught by
   * the IdP's next deactivation, not only by reconcile.
   */
  async deactivate(link: VendorLink, user: ScimDocument, step: Step, again = false): Promise<void> {
    const policy = this.mapping.file.lifecycle.deactivate;
    if (policy === "none" || link.state === "removed") return;
    // Under the delete policy a disabled link is a deletion the vendor held up: it is tried again.
    if (link.state === "disabled" && policy === "disable" && !again) return;
    await this.deprovisioning("deactivate", link, () => this.deactivateAtVendor(policy, link, user, step));
    this.log.info("vendor user deactivated", {
      target: this.target,
      scimId: link.scimId,
      vendor: this.calls.vendor,
      vendorKey: link.vendorKey,
      policy,
    });
  }

  private async deactivateAtVendor(policy: "disable" | "delete", link: VendorLink, user: ScimDocument, step: Step): Promise<void> {
    if (policy === "disable") {
      // A vendor user already gone cannot sign in: the leaver is off, and a reactivation creates it again.
      const { outcome } = await this.calls.run("disable", link, user, step, ["notFound"]);
      await this.links.update(this.target, link.scimId, { state: outcome.kind === "notFound" ? "removed" : "disabled" });
    } else {
      await this.removeVendorUser(link, user, step);
    }
  }

  /**
   * Before-delete follow-ups, then the delete; "not found" at the vendor counts as done. A delete the vendor
   * refuses while something holds the user (the mapping's lifecycle.deleteBlocked) is cleared: see `unblock`.
   */
  async removeVendorUser(link: VendorLink, user: ScimDocument, step: Step): Promise<void> {
    for (const operation of this.mapping.file.lifecycle.beforeDelete) await this.calls.run(operation, link, user, step, ["notFound"]);
    const refused = await this.tryDelete(link, user, step);
    if (refused) await this.unblock(link, user, step, refused);
    await this.links.update(this.target, link.scimId, { state: "removed" });
  }

  /** The delete call: undefined once the vendor user is gone (deleted, or not found), else the vendor's refusal. */
  private async tryDelete(link: VendorLink, user: ScimDocument, step: Step): Promise<VendorFailure | undefined> {
    const { outcome } = await this.calls.run("delete", link, user, step, [...ERROR_CLASSES]);
    return outcome.kind === "success" || outcome.kind === "notFound" ? undefined : outcome;
  }

  private holdOf(refused: VendorFailure): DeletionHold | undefined {
    const blocked = this.mapping.file.lifecycle.deleteBlocked;
    const named = (entries: string[]) => entries.some((entry) => codeMatches(entry, refused.code, refused.message));
    return named(blocked.memberships) ? "memberships" : named(blocked.manual) ? "manual" : undefined;
  }

  /**
   * A deletion the vendor holds up: access goes first (the user is disabled, where the vendor can), then
   * what holds it, if the bridge can remove it (its group memberships), then the delete again. Anything
   * else held is an administrator's to clear: DeletionBlocked, with the user left disabled.
   */
  private async unblock(link: VendorLink, user: ScimDocument, step: Step, refused: VendorFailure): Promise<void> {
    let hold = this.holdOf(refused);
    if (!hold) throw this.calls.refusal(refused);
    const access = await this.disableBeforeDelete(link, user, step);
    if (access === "gone") return;
    if (hold === "memberships") {
      await this.groups.leaveGroups(link, user, step);
      const again = await this.tryDelete(link, user, step);
      if (!again) {
        this.log.info("vendor user taken out of its groups, then deleted", {
          target: this.target,
          scimId: link.scimId,
          vendorKey: link.vendorKey,
        });
        return;
      }
      hold = this.holdOf(again);
      if (!hold) throw this.calls.refusal(again);
      refused = again;
    }
    throw this.blocked(hold, access === "disabled", refused);
  }

  /** Takes access away before a held-up deletion: the vendor's status call, where it has one. */
  private async disableBeforeDelete(link: VendorLink, user: ScimDocument, step: Step): Promise<"disabled" | "gone" | "enabled"> {
    if (!this.mapping.has("disable")) return "enabled";
    const { outcome } = await this.calls.run("disable", link, user, step, ["notFound"]);
    if (outcome.kind === "notFound") return "gone";
    await this.links.update(this.target, link.scimId, { state: "disabled" });
    return "disabled";
  }

  private blocked(hold: DeletionHold, disabled: boolean, refused: VendorFailure): DeletionBlocked {
    const vendor = this.calls.vendor;
    const why =
      hold === "memberships"
        ? `${vendor} refuses to delete this user while it is in a group, and it still is after the bridge took it out of the groups it knows (${vendorDetail(refused)}): remove it from its other groups at ${vendor}`
        : `${vendor} refuses to delete this user while something only an administrator can remove holds it (${vendorDetail(refused)}): remove that at ${vendor}`;
    const meanwhile = disabled
      ? `The user is disabled at ${vendor} and cannot sign in; once that is done, \`scim-bridge outbox retry\` with this user's id deletes it.`
      : `${vendor} has no disable call, so the user may still have access until then; once that is done, \`scim-bridge outbox retry\` with this user's id deletes it.`;
    return new DeletionBlocked(disabled, `${why}. ${meanwhile}`, refused);
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
    const made = await this.createAtVendor(id, user, step);
    return this.linkMade(id, user, made, step);
  }

  /** The vendor's create call for this user as it is now (with the password this step carries, and its groups). */
  private async createCall(id: string, user: ScimDocument, step: Step) {
    return buildVendorCall(this.mapping, this.connection, "create", { ...user, id }, { password: step.password, groups: await this.groups.userGroupIds(id) });
  }

  /**
   * A create whose answer never came may have made a vendor user. It is looked up before anything decides
   * from the (missing) link: one found is linked as this user's, so a delete or a deactivation that follows
   * reaches it; none found, the intent is answered and the next create goes out as usual.
   */
  async resolveLostCreate(id: string, user: ScimDocument, step: Step): Promise<void> {
    if (!step.intent?.lookupFirst || !this.mapping.has("lookup") || (await this.linkOf(id))) return;
    const built = await this.createCall(id, user, step);
    const existing = await this.lookup(built, step, id, true);
    if (existing === undefined) return step.intent.answered();
    // Another live SCIM user has linked it meanwhile — the IdP's retry of this same create, after a strict
    // 504 undid this one: the vendor user is that user's now, neither this one's to link nor to remove.
    const holder = await this.liveHolderOf(id, existing);
    if (holder) {
      this.log.warn("a lost create's vendor user is linked to another SCIM user (the IdP's retry of the create); left to it", {
        target: this.target,
        scimId: id,
        vendorKey: existing,
        heldBy: { target: holder.target, scimId: holder.scimId },
      });
      return step.intent.answered();
    }
    // The create that made it sent the password this step carries, if it takes one: the vendor holds it.
    if (step.password !== undefined && built.secretParams.length > 0 && step.intent.carried?.(step.password)) step.passwordDelivered = true;
    await this.linkMade(id, user, { key: existing, link: "created", built }, step, { state: "active" });
  }

  /** A link of another SCIM user that exists (not deleted) holding this vendor user, on any target of the account. */
  private async liveHolderOf(id: string, vendorKey: string): Promise<VendorLink | undefined> {
    for (const holder of await this.links.holding(this.accountTargets, vendorKey))
      if (!(holder.target === this.target && holder.scimId === id) && (await this.resources.get(holder.target, "User", holder.scimId))) return holder;
    return undefined;
  }

  /**
   * Brings the vendor in line with the SCIM user as it is now (the outbox's unit of work): no vendor user
   * yet → created; otherwise status first, then renames and the profile diff against what the vendor last
   * acknowledged. What the link says the vendor holds stands for "before", so work that was cut off part-way
   * is finished by the next run.
   */
  async converge(id: string, user: ScimDocument, step: Step): Promise<void> {
    const link = await this.linkOf(id);
    if (!link) return this.created(id, user, step);
    await this.changed(id, { ...user, active: link.state === "active" }, user, step);
  }

  async linkOf(id: string): Promise<VendorLink | undefined> {
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
    if (!isActive && link) await this.deactivate(link, after, step, step.deactivates === true && !wasActive);
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
      await this.deactivate(link, { ...user, active: false }, step);
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
    await this.removeVendorUser(link, before, step);
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

  /**
   * A SCIM DELETE: the vendor user goes too (not found counts as done); the link record stays. `removed`:
   * the user as it was deleted, with the groups it was in (the vendor may refuse the delete until it leaves them).
   */
  async deleted(id: string, step: Step, removed: ScimDocument = {}): Promise<void> {
    const link = await this.linkOf(id);
    if (link && link.state !== "removed") await this.deprovisioning("delete", link, () => this.removeVendorUser(link, removed, step));
    if (link) await this.links.markDeleted(this.target, id);
  }

  keyOf(built: BuiltCall, result: Record<string, unknown>): string {
    const key = this.calls.vendorKeyOf(built, result);
    if (key === undefined) {
      const op = this.mapping.operation("create");
      throw new VendorRefusal("malformed", `${this.calls.vendor} acknowledged the user without the id the mapping expects at '${op.id ?? op.keyParam}'.`);
    }
    return key;
  }

  /** The vendor's key for the user with the same unique name, if the vendor has one (every page of its search read). */
  async lookup(built: BuiltCall, step: Step, subject?: string, mustAnswer = false): Promise<string | undefined> {
    const op = this.mapping.operation("lookup");
    const match = op.match;
    if (!match) return undefined;
    const call = this.calls.build("lookup", {}, step, built.params);
    const { found, failed } = await this.calls.findExact(call, step, subject, match.field, built.params[match.param]);
    // `mustAnswer`: "not found" is only believed from an answer; a lookup that failed says nothing.
    if (failed && mustAnswer && failed.kind !== "notFound") throw this.calls.refusal(failed);
    if (!found) return undefined;
    if (this.connection.adoptOnlyIf === "emailMatches" && op.email) {
      const theirs = String(pick(found, op.email.field) ?? "").toLowerCase();
      if (theirs !== String(built.params[op.email.param] ?? "").toLowerCase()) return undefined;
    }
    const key = pick(found, op.id ?? "");
    return typeof key === "string" || typeof key === "number" ? String(key) : undefined;
  }
}

/**
 * A vendor user made for a SCIM user: created (or adopted, where the target allows it) and linked — one
 * vendor user to one SCIM user across the targets of a vendor account — then its follow-up calls and its
 * groups. A create whose answer never came is looked up first: the vendor user it made is taken, never
 * created twice.
 */
import type { VendorConnection } from "../config/schema";
import type { KeyedLock } from "../lib/keyed-lock";
import type { Logger } from "../log";
import type { BuiltCall, CompiledMapping } from "../mapping/compile";
import type { StoreLocks } from "../store/admin/port";
import type { LinkStore } from "../store/links/port";
import type { ResourceStore } from "../store/resources/port";
import type { TrailStore } from "../store/trail/port";
import type { ScimDocument, VendorLink } from "../store/types";
import { pick } from "../vendors/connector-base";
import type { Step } from "./provisioner";
import { VendorRefusal } from "./refusal";
import { buildVendorCall, nameHashOf, vendorDetail, type VendorCalls } from "./vendor-calls";
import type { GroupSync } from "./vendor-groups";

/** A vendor user just created or adopted, and the create call that made or found it. */
export interface MadeUser {
  key: string;
  link: "created" | "adopted";
  built: BuiltCall;
  /** Made by this run's own create call (so in the status that call asked for). */
  fresh?: boolean;
}

export class UserCreation {
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
    return { ...this.newLink(id, user, made, "active", { create: made.built.params }), createdAt: "" };
  }

  private newLink(
    id: string,
    user: ScimDocument,
    made: MadeUser,
    state: VendorLink["state"],
    acknowledged: VendorLink["acknowledged"],
  ): Omit<VendorLink, "createdAt"> {
    return {
      target: this.target,
      scimId: id,
      vendor: this.calls.vendor,
      vendorKey: made.key,
      link: made.link,
      userName: String(user.userName),
      state,
      acknowledged,
    };
  }

  /**
   * Records a vendor user just created or adopted — refused when any link on the same vendor account (any
   * target, any other SCIM user) already holds it — then its follow-up calls and its groups.
   */
  async linkMade(id: string, user: ScimDocument, made: MadeUser, step: Step, options: { state?: VendorLink["state"] } = {}): Promise<VendorLink> {
    const acknowledged = this.acknowledgedAfterCreate(made.built, { ...user, id }, made.key, await this.groups.userGroupIds(id));
    const record = this.newLink(id, user, made, options.state ?? "active", acknowledged);
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
    if (!step.intent?.lookupFirst || !this.mapping.has("lookup") || (await this.links.of(this.target, [id])).has(id)) return;
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

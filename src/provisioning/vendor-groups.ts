/**
 * SCIM groups at the vendor. Membership vendors (CIC, Volcengine) get add/remove calls on a vendor group
 * found through the target's table, by name, or created; user-attribute vendors (CIAM, CCC skill groups,
 * Huawei skills) get the member's user record updated with its groups' vendor ids.
 */
import type { VendorConnection } from "../config/schema";
import { ownEntry } from "../lib/own-entry";
import type { Logger } from "../log";
import type { CompiledMapping } from "../mapping/compile";
import type { LinkStore } from "../store/links/port";
import type { MemberStore } from "../store/members/port";
import type { ResourceStore } from "../store/resources/port";
import { VendorRefusal } from "./refusal";
import type { ScimDocument, VendorLink } from "../store/types";
import { pick } from "../vendors/connector-base";
import type { Step } from "./provisioner";
import { buildVendorCall, type VendorCalls } from "./vendor-calls";

export class GroupSync {
  private readonly target: string;
  private readonly mapping: CompiledMapping;
  private readonly connection: VendorConnection;
  private readonly resources: ResourceStore;
  private readonly members: MemberStore;
  private readonly links: LinkStore;
  private readonly log: Logger;

  constructor(private readonly calls: VendorCalls) {
    ({
      target: this.target,
      mapping: this.mapping,
      connection: this.connection,
      log: this.log,
      resources: this.resources,
      members: this.members,
      links: this.links,
    } = calls.deps);
  }

  get groupModel(): "membership" | "userAttribute" | undefined {
    return this.mapping.file.groups?.model;
  }

  /**
   * The vendor ids of a user's groups as the store has them, for userAttribute mappings (the user's own work
   * sends them: a membership change records work for each user it touches).
   */
  async userGroupIds(userId: string): Promise<string[]> {
    if (this.groupModel !== "userAttribute") return [];
    const groups = (await this.members.groupsOf(this.target, [userId])).get(userId) ?? [];
    const ids = groups.map((g) => g.id);
    const out: string[] = [];
    for (const id of ids) {
      const group = await this.resources.get(this.target, "Group", id);
      const vendorId = group ? this.mappedGroup(group.doc) : undefined;
      if (vendorId !== undefined) out.push(vendorId);
    }
    return out;
  }

  private get resolveBy(): ("table" | "displayName" | "externalId")[] {
    return this.mapping.file.groups?.resolveBy ?? ["table"];
  }

  /** The vendor id a SCIM group resolves to without asking the vendor: the target's table, or its externalId. */
  mappedGroup(group: ScimDocument): string | undefined {
    const map = this.connection.groups.map;
    for (const how of this.resolveBy) {
      if (how === "table") {
        const hit = ownEntry(map, String(group.displayName)) ?? (group.externalId !== undefined ? ownEntry(map, String(group.externalId)) : undefined);
        if (hit !== undefined) return hit;
      }
      if (how === "externalId" && typeof group.externalId === "string" && group.externalId) return group.externalId;
    }
    return undefined;
  }

  /**
   * A membership vendor's group for a SCIM group: recorded link, the target's table, a vendor group of the
   * same name, or (policy `unknown`) a new vendor group, nothing, or a 400.
   */
  async vendorGroupOf(groupId: string, group: ScimDocument, step: Step): Promise<string | undefined> {
    if (this.groupModel !== "membership") return undefined;
    const known = await this.links.groupLinkOf(this.target, groupId);
    if (known) return known.vendorGroupId;
    const record = async (vendorGroupId: string, createdByBridge: boolean) => {
      await this.links.recordGroupLink({ target: this.target, scimId: groupId, vendorGroupId, createdByBridge });
      return vendorGroupId;
    };
    const mapped = this.mappedGroup(group);
    if (mapped !== undefined) return record(mapped, false);
    if (this.resolveBy.includes("displayName") && this.mapping.has("findGroup")) {
      const found = await this.findVendorGroup(group, step);
      if (found !== undefined) await this.refuseIfOwned(groupId, group, found);
      if (found !== undefined) return record(found, false);
    }
    const policy = this.connection.groups.unknown ?? this.mapping.file.groups?.unknown ?? "skip";
    if (policy === "reject")
      throw new VendorRefusal(
        "invalid",
        `The group '${String(group.displayName)}' has no group at ${this.calls.vendor}; add it to the target's vendor.groups.map or allow unknown groups.`,
      );
    if (policy === "skip" || !this.mapping.has("createGroup")) return undefined;
    const call = buildVendorCall(this.mapping, this.connection, "createGroup", group);
    const outcome = await this.calls.call(call, step, groupId);
    if (outcome.kind !== "success") throw this.calls.refusal(outcome, "group");
    const op = this.mapping.operation("createGroup");
    const id = pick(outcome.result, op.id ?? "");
    if (typeof id !== "string" && typeof id !== "number")
      throw new VendorRefusal("malformed", `${this.calls.vendor} created the group without the id the mapping expects at '${op.id}'.`);
    this.log.info("vendor group created", { target: this.target, scimGroupId: groupId, vendorGroupId: String(id) });
    return record(String(id), true);
  }

  /**
   * A vendor group the bridge created for another SCIM group (which has or had this name) is that group's:
   * taken by name for a second SCIM group, a membership removed through one would take away access the
   * other granted. 409: the IdP's group needs another name.
   */
  private async refuseIfOwned(groupId: string, group: ScimDocument, vendorGroupId: string): Promise<void> {
    const owner = (await this.links.groupLinksTo(this.target, vendorGroupId)).find((l) => l.createdByBridge && l.scimId !== groupId);
    if (owner)
      throw new VendorRefusal(
        "conflict",
        `${this.calls.vendor}'s group named '${String(group.displayName)}' is the vendor group of SCIM group ${owner.scimId}; give this group another name.`,
      );
  }

  /** The vendor group of the SCIM group's name, if the vendor has one (every page of its search read). */
  async findVendorGroup(group: ScimDocument, step: Step): Promise<string | undefined> {
    const op = this.mapping.operation("findGroup");
    const match = op.match;
    if (!match) return undefined;
    const call = buildVendorCall(this.mapping, this.connection, "findGroup", group);
    const { found, failed } = await this.calls.findExact(call, step, undefined, match.field, call.params[match.param]);
    // A search that failed is not "no such group": creating one then could make a duplicate.
    if (failed && failed.kind !== "notFound") throw this.calls.refusal(failed, "group");
    const id = found ? pick(found, op.id ?? "") : undefined;
    return typeof id === "string" || typeof id === "number" ? String(id) : undefined;
  }

  /**
   * Members joined or left a SCIM group of a membership vendor: add / remove calls on its vendor group. Each
   * member is reported to `applied` once done (or held: no vendor user yet), so a deadline part-way keeps
   * the progress. (A userAttribute vendor's memberships travel with each user's own work.)
   */
  async membersChanged(
    groupId: string,
    added: string[],
    removed: string[],
    step: Step,
    applied: (added: string[], removed: string[]) => Promise<void> = async () => undefined,
  ): Promise<void> {
    if (this.groupModel !== "membership") return;
    const group = await this.resources.get(this.target, "Group", groupId);
    if (!group) return;
    const links = await this.links.of(this.target, [...added, ...removed]);
    const vendorGroupId = await this.vendorGroupOf(groupId, group.doc, step);
    if (vendorGroupId === undefined) return;
    for (const [ids, change] of [
      [added, "add"],
      [removed, "remove"],
    ] as const) {
      const operation = change === "add" ? "addMember" : "removeMember";
      for (const id of ids) {
        // A member without a vendor user (not provisioned, or removed while inactive) is applied when it gets one.
        const link = links.get(id);
        if (link && link.state !== "removed")
          await this.calls.run(operation, link, {}, step, [change === "add" ? "conflict" : "notFound"], { groupKey: vendorGroupId, groups: [] });
        await (change === "add" ? applied([id], []) : applied([], [id]));
      }
    }
  }

  /** A newly created or re-created vendor user joins the vendor groups of its SCIM groups again. */
  async restoreMemberships(link: VendorLink, step: Step): Promise<void> {
    if (this.groupModel !== "membership") return;
    const groups = (await this.members.groupsOf(this.target, [link.scimId])).get(link.scimId) ?? [];
    for (const g of groups) {
      const group = await this.resources.get(this.target, "Group", g.id);
      const vendorGroupId = group ? await this.vendorGroupOf(g.id, group.doc, step) : undefined;
      if (vendorGroupId !== undefined) await this.calls.run("addMember", link, {}, step, ["conflict"], { groupKey: vendorGroupId, groups: [] });
    }
  }

  /**
   * Takes a vendor user out of every vendor group the bridge knows it in (a vendor that refuses to delete a
   * group member): its SCIM groups now, and those a deleted user was in when deleted (`user.groups`).
   */
  async leaveGroups(link: VendorLink, user: ScimDocument, step: Step): Promise<void> {
    const current = ((await this.members.groupsOf(this.target, [link.scimId])).get(link.scimId) ?? []).map((g) => g.id);
    const atDeletion = Array.isArray(user.groups) ? user.groups.map((g) => String((g as { value?: unknown }).value)) : [];
    for (const groupId of new Set([...current, ...atDeletion])) {
      const known = await this.links.groupLinkOf(this.target, groupId);
      if (known) await this.calls.run("removeMember", link, {}, step, ["notFound"], { groupKey: known.vendorGroupId, groups: [] });
    }
  }

  /**
   * A SCIM group renamed. A vendor group the bridge created takes the new name (operation updateGroup); a
   * vendor that cannot rename groups (no updateGroup) refuses the rename, and nothing is recorded. A vendor
   * group the target maps the SCIM group to (its table, a group of the same name already at the vendor, the
   * externalId) belongs to the vendor's administrators and keeps its name.
   */
  async groupRenamed(groupId: string, before: ScimDocument, after: ScimDocument, step: Step): Promise<void> {
    if (this.groupModel !== "membership" || before.displayName === after.displayName) return;
    const link = await this.links.groupLinkOf(this.target, groupId);
    if (!link?.createdByBridge) return;
    if (!this.mapping.has("updateGroup"))
      throw new VendorRefusal(
        "immutable",
        `${this.calls.vendor} cannot rename a group (its mapping has no updateGroup operation): the group keeps the name '${String(before.displayName)}'. Create a group under the new name instead.`,
      );
    const call = buildVendorCall(this.mapping, this.connection, "updateGroup", after, { groupKey: link.vendorGroupId });
    const outcome = await this.calls.call(call, step, groupId);
    if (outcome.kind === "notFound") {
      // Deleted at the vendor: forgotten here, so the next membership change finds or creates it under its new name.
      await this.links.removeGroupLink(this.target, groupId);
      this.log.warn("vendor group gone at rename; it is found or created again", {
        target: this.target,
        scimGroupId: groupId,
        vendorGroupId: link.vendorGroupId,
      });
      return;
    }
    if (outcome.kind !== "success") throw this.calls.refusal(outcome, "group");
    this.log.info("vendor group renamed", { target: this.target, scimGroupId: groupId, vendorGroupId: link.vendorGroupId });
  }

  /** A SCIM group deleted: its vendor group too if the bridge created it; otherwise the members leave it. */
  async groupDeleted(groupId: string, group: ScimDocument, step: Step): Promise<void> {
    if (this.groupModel !== "membership") return;
    const link = await this.links.groupLinkOf(this.target, groupId);
    if (!link) return;
    if (link.createdByBridge && this.mapping.has("deleteGroup")) {
      const call = buildVendorCall(this.mapping, this.connection, "deleteGroup", group, { groupKey: link.vendorGroupId });
      const outcome = await this.calls.call(call, step, groupId);
      if (outcome.kind !== "success" && outcome.kind !== "notFound") throw this.calls.refusal(outcome, "group");
    } else {
      const members = (await this.members.of(this.target, groupId)).map((m) => m.value);
      await this.membersChanged(groupId, [], members, step);
    }
    await this.links.removeGroupLink(this.target, groupId);
  }
}

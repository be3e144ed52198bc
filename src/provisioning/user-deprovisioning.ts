/**
 * A leaver's access taken away at the vendor: deactivation as the mapping's policy says (the vendor's status
 * call, or the vendor user removed), and deletion — a deletion the vendor holds up is cleared where the
 * bridge can (the user's groups), else left to an administrator with the user disabled. A refusal is an
 * operator's error: the leaver may still have access.
 */
import type { Logger } from "../log";
import type { CompiledMapping } from "../mapping/compile";
import type { LinkStore } from "../store/links/port";
import type { ScimDocument, VendorLink } from "../store/types";
import { codeMatches } from "../vendors/classify";
import { ERROR_CLASSES } from "../vendors/types";
import type { Step } from "./provisioner";
import { VendorRefusal } from "./refusal";
import { vendorDetail, type VendorCalls, type VendorFailure } from "./vendor-calls";
import type { GroupSync } from "./vendor-groups";

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

export class UserDeprovisioning {
  private readonly target: string;
  private readonly mapping: CompiledMapping;
  private readonly links: LinkStore;
  private readonly log: Logger;

  constructor(
    private readonly calls: VendorCalls,
    private readonly groups: GroupSync,
  ) {
    ({ target: this.target, mapping: this.mapping, links: this.links, log: this.log } = calls.deps);
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

  /**
   * A SCIM DELETE: the vendor user goes too (not found counts as done); the link record stays. `removed`:
   * the user as it was deleted, with the groups it was in (the vendor may refuse the delete until it leaves them).
   */
  async deleted(id: string, step: Step, removed: ScimDocument = {}): Promise<void> {
    const link = (await this.links.of(this.target, [id])).get(id);
    if (link && link.state !== "removed") await this.deprovisioning("delete", link, () => this.removeVendorUser(link, removed, step));
    if (link) await this.links.markDeleted(this.target, id);
  }
}

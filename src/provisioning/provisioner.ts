/**
 * The seam between the SCIM side and the vendor side. The SCIM handlers describe each change ("this user is
 * created / now looks like X / is deleted; these members joined or left") and hand it to the target's
 * provisioner before the store records it, so a change the vendor refuses is not recorded either.
 */
import type { NewVendorLink, ResourceKind, ScimDocument, StoredResource } from "../store/types";

/** Stores the new SCIM user together with its vendor link, in one write. */
export type CommitLink = (link: NewVendorLink) => Promise<void>;

export type ResourceChange =
  | {
      op: "create";
      kind: ResourceKind;
      id: string;
      after: ScimDocument;
      /** For users: the provisioner stores the user with its link through this, once the vendor has it. */
      commit?: CommitLink;
    }
  | { op: "replace"; kind: ResourceKind; id: string; before: StoredResource; after: ScimDocument }
  | { op: "delete"; kind: ResourceKind; id: string; before: StoredResource }
  | {
      op: "members";
      groupId: string;
      added: string[];
      removed: string[];
      /** Records members as they are applied, so a change cut off part-way keeps what the vendor acknowledged. */
      applied?: (added: string[], removed: string[]) => Promise<void>;
    };

/** What the provisioner may hand back for the bridge to keep with the resource. */
export interface ProvisioningOutcome {
  /** Stored with the resource and shown over SCIM (the vendor's key for it, for instance). */
  annotations?: Record<string, unknown>;
}

export interface ChangeContext {
  target: string;
  requestId: string;
  /** A password the IdP sent with this request; never stored. */
  password?: string;
  /** The request itself sets active to false (not merely a change of an inactive user). */
  deactivates?: boolean;
}

export interface Provisioner {
  apply(change: ResourceChange, context: ChangeContext): Promise<ProvisioningOutcome>;
}

/** A store-only target: nothing leaves the bridge (IdP setup tests, conformance runs). */
export const storeOnly: Provisioner = {
  async apply() {
    return {};
  },
};

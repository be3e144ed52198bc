/**
 * Which vendor user each SCIM user is, and which vendor group each SCIM group is. A user's link is written
 * when the vendor acknowledges a create or an adoption, and never deleted.
 */
import type { NewVendorLink, VendorGroupLink, VendorLink } from "../types";

/** What of a link changes after it is recorded. */
export type LinkChange = Partial<Pick<VendorLink, "state" | "acknowledged" | "vendorKey" | "link">>;

export interface LinkStore {
  record(link: NewVendorLink): Promise<VendorLink>;
  update(target: string, scimId: string, change: LinkChange): Promise<void>;
  markDeleted(target: string, scimId: string): Promise<void>;
  /** The links of `scimIds`, by SCIM id. */
  of(target: string, scimIds: string[]): Promise<Map<string, VendorLink>>;
  /** The links of any of `targets` that hold this vendor key now (not deleted, vendor user not removed). */
  holding(targets: string[], vendorKey: string): Promise<VendorLink[]>;
  /** Every link of the target, oldest first. */
  all(target: string): Promise<VendorLink[]>;

  groupLinkOf(target: string, scimGroupId: string): Promise<VendorGroupLink | undefined>;
  /** The SCIM groups of the target linked to this vendor group. */
  groupLinksTo(target: string, vendorGroupId: string): Promise<VendorGroupLink[]>;
  recordGroupLink(link: VendorGroupLink): Promise<void>;
  removeGroupLink(target: string, scimGroupId: string): Promise<void>;
}

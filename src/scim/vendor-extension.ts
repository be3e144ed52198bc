/**
 * How the vendor side of a user shows over SCIM: a read-only schema extension with the vendor, the vendor's
 * key for the user, and whether the bridge created the vendor user or adopted one that already existed.
 */
import SCIMMY from "scimmy";

export const VENDOR_LINK = "urn:ietf:params:scim:schemas:extension:scim-bridge:vendor:2.0:User";

const readOnly = { mutable: false, returned: true } as const;

export class VendorLinkExtension extends SCIMMY.Types.Schema {
  static readonly #definition = new SCIMMY.Types.SchemaDefinition("VendorLink", VENDOR_LINK, "The user's account at the target's vendor", [
    new SCIMMY.Types.Attribute("string", "vendor", { ...readOnly, description: "The vendor API the target provisions into." }),
    new SCIMMY.Types.Attribute("string", "vendorUserId", { ...readOnly, caseExact: true, description: "The vendor's key for this user (a UserId, or Huawei's userAccount)." }),
    new SCIMMY.Types.Attribute("string", "link", { ...readOnly, canonicalValues: ["created", "adopted"], description: "created: the bridge made the vendor user; adopted: it already existed." }),
  ]);

  static override get id(): string {
    return VendorLinkExtension.#definition.id;
  }

  static override get definition() {
    return VendorLinkExtension.#definition;
  }
}

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
    new SCIMMY.Types.Attribute("string", "vendorUserId", {
      ...readOnly,
      caseExact: true,
      description: "The vendor's key for this user (a UserId, or Huawei's userAccount).",
    }),
    new SCIMMY.Types.Attribute("string", "link", {
      ...readOnly,
      canonicalValues: ["created", "adopted"],
      description: "created: the bridge made the vendor user; adopted: it already existed.",
    }),
    new SCIMMY.Types.Attribute("string", "provisioning", {
      ...readOnly,
      canonicalValues: ["applied", "pending", "failed"],
      description:
        "Whether the vendor has the user's latest change: applied; pending (the bridge is delivering it); failed (the vendor refused it: a person must act).",
    }),
    // For pending or failed work (flat, not complex: scimmy refuses to coerce a read-only complex value).
    new SCIMMY.Types.Attribute("string", "provisioningReason", { ...readOnly, description: "Why the change is not applied yet, or why it failed." }),
    new SCIMMY.Types.Attribute("integer", "provisioningAttempts", { ...readOnly, description: "How often the bridge has tried the change." }),
    new SCIMMY.Types.Attribute("dateTime", "provisioningNextAttempt", { ...readOnly, description: "When the bridge tries again (pending)." }),
    new SCIMMY.Types.Attribute("string", "provisioningVendorCode", { ...readOnly, caseExact: true, description: "The vendor's last error code." }),
    new SCIMMY.Types.Attribute("string", "provisioningVendorRequestId", {
      ...readOnly,
      caseExact: true,
      description: "The vendor's RequestId of that answer.",
    }),
    new SCIMMY.Types.Attribute("string", "provisioningRemedy", { ...readOnly, description: "For failed work: what a person does about it." }),
  ]);

  static override get id(): string {
    return VendorLinkExtension.#definition.id;
  }

  static override get definition() {
    return VendorLinkExtension.#definition;
  }
}

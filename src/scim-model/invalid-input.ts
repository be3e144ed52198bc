/**
 * What SCIM's language refuses: a filter, an attribute path or a request body that breaks RFC 7643/7644 or
 * the bridge's input limits. A plain refusal, so the model knows nothing of HTTP; scim/errors.ts answers it
 * 400 with its scimType.
 */

export type ScimType =
  "invalidFilter" | "tooMany" | "uniqueness" | "mutability" | "invalidSyntax" | "invalidPath" | "noTarget" | "invalidValue" | "invalidVers" | "sensitive";

export class InvalidScimInput extends Error {
  constructor(
    readonly scimType: ScimType,
    readonly detail: string,
  ) {
    super(detail);
    this.name = "InvalidScimInput";
  }
}

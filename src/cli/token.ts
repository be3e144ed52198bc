/** `scim-bridge token mint`: a new bearer token, and the hash that goes into a target's config. */
import { mintToken } from "../http/auth";

export function tokenMintText(): { token: string; sha256: string; text: string } {
  const { token, sha256 } = mintToken();
  const text = [
    `token:  ${token}`,
    `sha256: ${sha256}`,
    "",
    "Give the token to the IdP (Okta: Authorization header value 'Bearer <token>'; Entra ID: Secret Token).",
    "Put the hash under the target in the config:",
    "  tokens:",
    `    - sha256: ${sha256}`,
  ].join("\n");
  return { token, sha256, text };
}

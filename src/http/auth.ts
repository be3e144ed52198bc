/**
 * Bearer tokens → targets. Config holds only SHA-256 hashes; a presented token is hashed and compared with
 * every hash in constant time, so neither timing nor an early exit tells how close a guess was.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import type { TargetConfig } from "../config/schema";
import { errorBody } from "../scim/errors";

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A new random token (256 bits, URL-safe) and the hash that goes into config. */
export function mintToken(): { token: string; sha256: string } {
  const token = `scb_${randomBytes(32).toString("base64url")}`;
  return { token, sha256: hashToken(token) };
}

export class TokenDirectory {
  private readonly entries: { hash: Buffer; target: TargetConfig }[];

  constructor(targets: TargetConfig[]) {
    this.entries = targets.flatMap((target) => target.tokens.map((t) => ({ hash: Buffer.from(t.sha256, "hex"), target })));
  }

  /** The target a presented token belongs to, if any. Every entry is compared, match or not. */
  resolve(token: string): TargetConfig | undefined {
    const presented = createHash("sha256").update(token, "utf8").digest();
    let found: TargetConfig | undefined;
    for (const entry of this.entries) if (timingSafeEqual(entry.hash, presented) && !found) found = entry.target;
    return found;
  }
}

function bearerOf(req: Request): string | undefined {
  const header = req.get("authorization");
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/** Express middleware: sets res.locals.target, or answers 401 with a SCIM error and WWW-Authenticate. */
export function requireBearer(directory: TokenDirectory) {
  return (req: Request, res: Response, next: NextFunction) => {
    const token = bearerOf(req);
    const target = token ? directory.resolve(token) : undefined;
    if (!target) {
      const detail = token
        ? "The bearer token is not valid for this bridge. Use the token minted for your target (scim-bridge token mint)."
        : "Authentication required: send 'Authorization: Bearer <token>' with the token minted for your target.";
      res
        .status(401)
        .set("WWW-Authenticate", `Bearer realm="scim-bridge"${token ? ', error="invalid_token"' : ""}`)
        .type("application/scim+json")
        .send(errorBody(401, undefined, detail));
      return;
    }
    res.locals.target = target;
    next();
  };
}

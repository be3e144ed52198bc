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

/** Whether a presented token is one of these hashes; every hash is compared, match or not. */
export function tokenMatches(token: string, sha256s: string[]): boolean {
  const presented = createHash("sha256").update(token, "utf8").digest();
  let found = false;
  for (const hash of sha256s) if (timingSafeEqual(Buffer.from(hash, "hex"), presented)) found = true;
  return found;
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

/**
 * Failed authentications per client address, as a token bucket: `burst` failures at once, then one every
 * `refillMs`. Past that, a wrong or missing token is answered 429 at once (no hashing, no log line per
 * attempt). A right token is always checked and always let in, so an IdP that shares an address with a
 * noisy client is never locked out. Addresses are forgotten once their bucket is full again; the table is
 * bounded, oldest first.
 */
export class FailedAuthLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst = 20,
    private readonly refillMs = 3_000,
    private readonly maxAddresses = 10_000,
  ) {}

  private level(address: string, now: number): number {
    const bucket = this.buckets.get(address);
    if (!bucket) return this.burst;
    return Math.min(this.burst, bucket.tokens + (now - bucket.at) / this.refillMs);
  }

  /** Whether this address may fail again now. */
  allows(address: string, now = Date.now()): boolean {
    return this.level(address, now) >= 1;
  }

  /** Seconds until the address may fail again. */
  retryAfter(address: string, now = Date.now()): number {
    return Math.max(1, Math.ceil(((1 - this.level(address, now)) * this.refillMs) / 1000));
  }

  recordFailure(address: string, now = Date.now()): void {
    const tokens = this.level(address, now) - 1;
    this.buckets.delete(address);
    this.buckets.set(address, { tokens, at: now });
    if (this.buckets.size > this.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

/**
 * The limiter's key for a client: an IPv4 address, or an IPv6 address's /64 (one host usually holds a whole
 * /64, so counting single IPv6 addresses would give it endless fresh buckets).
 */
export function clientKeyOf(ip: string | undefined): string {
  if (!ip) return "unknown";
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1]!;
  if (!ip.includes(":")) return ip;
  const [head = "", tail = ""] = ip.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const full = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${full
    .slice(0, 4)
    .map((h) => h.toLowerCase().replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** Express middleware: sets res.locals.target, or answers 401 (429 past the failure limit) with a SCIM error. */
export function requireBearer(directory: Pick<TokenDirectory, "resolve">, limiter = new FailedAuthLimiter()) {
  return (req: Request, res: Response, next: NextFunction) => {
    const token = bearerOf(req);
    const target = token ? directory.resolve(token) : undefined;
    const address = clientKeyOf(req.ip);
    if (!target && !limiter.allows(address)) {
      res
        .status(429)
        .set("Retry-After", String(limiter.retryAfter(address)))
        .type("application/scim+json")
        .send(errorBody(429, undefined, "Too many failed authentications from this address; wait before trying again. A valid token is always accepted."));
      return;
    }
    if (!target) {
      limiter.recordFailure(address);
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

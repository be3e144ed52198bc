/**
 * /status: read-only, behind an admin token (never an IdP's), off unless `status.adminTokens` has one.
 * A browser opens it with HTTP Basic (any user name, the token as password); scripts may send
 * `Authorization: Bearer <token>`.
 */
import { Router, type NextFunction, type Request, type Response } from "express";
import { clientKeyOf, FailedAuthLimiter, tokenMatches } from "../http/auth";
import type { LiveTargets } from "../http/live-targets";
import type { Logger } from "../log";
import { STATUS_CSS, STATUS_JS, statusHtml } from "./page";
import { statusSnapshot, type StatusStores } from "./snapshot";

export const STATUS_MOUNT = "/status";

function presented(req: Request): string | undefined {
  const header = req.get("authorization") ?? "";
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
  return decoded.slice(decoded.indexOf(":") + 1) || undefined;
}

function requireAdmin(live: LiveTargets, limiter: FailedAuthLimiter) {
  return (req: Request, res: Response, next: NextFunction) => {
    const hashes = live.current.config.status.adminTokens.map((t) => t.sha256);
    // Off unless configured: the page does not exist.
    if (hashes.length === 0) return next("router");
    const token = presented(req);
    const address = clientKeyOf(req.ip);
    if (token && tokenMatches(token, hashes)) return next();
    if (!limiter.allows(address)) {
      res
        .status(429)
        .set("Retry-After", String(limiter.retryAfter(address)))
        .type("text/plain")
        .send("Too many failed attempts; wait before trying again.\n");
      return;
    }
    limiter.recordFailure(address);
    res
      .status(401)
      .set("WWW-Authenticate", 'Basic realm="scim-bridge status", charset="UTF-8"')
      .type("text/plain")
      .send("The status page needs an admin token (status.adminTokens): any user name, the token as password.\n");
  };
}

export function statusRoutes(live: LiveTargets, stores: StatusStores, log: Logger): Router {
  const router = Router();
  router.use(requireAdmin(live, new FailedAuthLimiter()));
  router.use((_req: Request, res: Response, next: NextFunction) => {
    res.set({
      "Cache-Control": "no-store",
      "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    });
    next();
  });
  router.get("/", (_req, res) => {
    res.type("html").send(statusHtml(live.current.config.status.refreshSeconds));
  });
  router.get("/page.js", (_req, res) => void res.type("text/javascript").send(STATUS_JS));
  router.get("/page.css", (_req, res) => void res.type("text/css").send(STATUS_CSS));
  router.get("/data.json", async (_req, res) => {
    try {
      res.json(await statusSnapshot(live, stores));
    } catch (error) {
      log.warn("status page: the snapshot could not be read", { error: (error as Error).message });
      res.status(503).json({ error: "the store could not be read" });
    }
  });
  return router;
}

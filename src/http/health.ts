/**
 * Liveness (/healthz: the process answers) and readiness (/readyz: the store can be read and written, within
 * a bound — a store that hangs is as unready as one that refuses). No auth; no detail beyond the store kind and the version.
 */
import { Router } from "express";
import type { AdminStore } from "../store/admin/port";
import { VERSION } from "../version";

const READY_TIMEOUT_MS = 3_000;

function withinBound(check: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error("store check timed out")), READY_TIMEOUT_MS)));
  return Promise.race([check, timeout]).finally(() => clearTimeout(timer));
}

export function healthRoutes(store: Pick<AdminStore, "ping" | "kind">): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok", version: VERSION });
  });
  router.get("/readyz", async (_req, res) => {
    try {
      await withinBound(store.ping());
      res.json({ status: "ready", store: store.kind });
    } catch {
      res.status(503).json({ status: "unavailable", store: store.kind });
    }
  });
  return router;
}

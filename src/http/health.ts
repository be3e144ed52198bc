/** Liveness (/healthz: the process answers) and readiness (/readyz: the store answers too). No auth. */
import { Router } from "express";
import type { Store } from "../store/types";

export function healthRoutes(store: Store): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    try {
      await store.ping();
      res.json({ status: "ready", store: store.kind });
    } catch {
      res.status(503).json({ status: "unavailable", store: store.kind });
    }
  });
  return router;
}

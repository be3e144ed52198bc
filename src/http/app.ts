/** The express application: health checks, then per-target authenticated SCIM under /scim/v2. */
import express, { type NextFunction, type Request, type Response } from "express";
import type { Config } from "../config/schema";
import type { Logger } from "../log";
import type { Provisioner } from "../provisioning/provisioner";
import type { Delivery } from "../provisioning/targets";
import { storeOnly } from "../provisioning/provisioner";
import type { RequestScratch, ScimContext, ScimRequest, ScimStores } from "../scim/context";
import { ScimError } from "../scim/errors";
import { declareResources } from "../scim-model/schema";
import type { AdminStore } from "../store/admin/port";
import { requireBearer } from "./auth";
import { LiveTargets } from "./live-targets";
import { Drain } from "./drain";
import { jsonBody } from "./body";
import { discoveryPerTarget, discoveryRoutes, guardDiscovery } from "./discovery";
import { notFound, scimErrorHandler } from "./errors";
import { healthRoutes } from "./health";
import { metricsHandler, scimRequestMetrics, type BridgeMetrics } from "./metrics";
import { requestLog } from "./request-log";
import { resourceRoutes, SCIM_MOUNT } from "./resource-routes";

export interface AppDeps {
  config: Config;
  /** The ports the SCIM handlers use, and the store's readiness. */
  stores: ScimStores & { readonly admin: AdminStore };
  log: Logger;
  /** The provisioner of each target by name; targets not listed are store-only. */
  provisioners?: Map<string, Provisioner>;
  /** Each vendor target's outbox side (user changes are recorded with their work and waited for). */
  deliveries?: Map<string, Delivery>;
  /** Shutdown: requests are refused once it is active (startBridge drains before it closes). */
  drain?: Drain;
  /** The targets served, replaced whole by a reload (default: the config's, with the provisioners above). */
  live?: LiveTargets;
  /** Prometheus metrics: SCIM requests are counted; /metrics is served here when `serveMetrics`. */
  metrics?: BridgeMetrics;
  serveMetrics?: boolean;
  /** Routers mounted beside the health checks, before SCIM (main.ts mounts the status page here). */
  mounts?: { path: string; router: express.RequestHandler }[];
}

function baseUrlOf(req: Request, config: Config): string {
  const origin = config.server.publicUrl?.replace(/\/$/, "") ?? `${req.protocol}://${req.get("host") ?? "localhost"}`;
  return `${origin}${SCIM_MOUNT}`;
}

export function createApp({
  config,
  stores,
  log,
  provisioners,
  deliveries,
  live = new LiveTargets(config, provisioners, deliveries),
  drain = new Drain(),
  metrics,
  serveMetrics = false,
  mounts = [],
}: AppDeps): express.Express {
  declareResources();
  const app = express();
  app.disable("x-powered-by");
  // A SCIM ETag is the resource's version (set by the resource routes), never a hash of the body.
  app.set("etag", false);
  app.set("trust proxy", config.server.trustProxy);
  app.set("query parser", "simple");
  app.use(requestLog(log));
  app.use(drain.middleware);
  app.use(healthRoutes(stores.admin));
  for (const { path, router } of mounts) app.use(path, router);
  if (metrics && serveMetrics) app.get("/metrics", metricsHandler(metrics));

  const limits = { maxResults: config.server.maxResults, defaultCount: config.server.defaultCount };
  const scim = express.Router();
  // Every SCIM answer may carry personal data (or say whether a token is valid): never cached on the way.
  scim.use((_req: Request, res: Response, next: NextFunction) => {
    res.set("Cache-Control", "no-store");
    next();
  });
  if (metrics) scim.use(scimRequestMetrics(metrics));
  scim.use(requireBearer(live));
  scim.use(jsonBody(config.server.bodyLimit));
  scim.use((req: Request, res: Response, next: NextFunction) => {
    const target = res.locals.target;
    const { provisioners, deliveries } = live.current;
    // Frozen, without prototypes: the request is only ever what the router read from this request.
    const ctx: ScimContext = Object.freeze({
      target,
      stores,
      provisioner: provisioners.get(target.name) ?? storeOnly,
      delivery: deliveries.get(target.name),
      log,
      request: Object.freeze(Object.assign(Object.create(null) as ScimRequest, { requestId: res.locals.requestId, baseUrl: baseUrlOf(req, config) })),
      scratch: Object.assign(Object.create(null) as RequestScratch, { wantMembers: true }),
    } satisfies ScimContext);
    res.locals.scim = ctx;
    next();
  });
  scim.post("/.search", (_req, _res, next) => next(new ScimError(501, null, "Search one resource type at a time: POST /Users/.search or /Groups/.search.")));
  scim.use(resourceRoutes("User", limits));
  scim.use(resourceRoutes("Group", limits));
  scim.use(guardDiscovery);
  scim.use(discoveryPerTarget());
  scim.use(discoveryRoutes(config.server.maxResults));
  scim.use(scimErrorHandler(log));
  app.use(SCIM_MOUNT, scim);
  app.use(notFound);
  app.use(scimErrorHandler(log));
  return app;
}

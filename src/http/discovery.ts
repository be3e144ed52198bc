/**
 * /ServiceProviderConfig, /ResourceTypes and /Schemas come from scimmy-routers; so do its answers to /Bulk
 * and /Me (501: not offered). It is built once per process because scimmy's registry and configuration are
 * process-wide (each construction would append another authentication scheme).
 */
import type { Router } from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

let built: Router | undefined;

export function discoveryRoutes(maxResults: number): Router {
  if (!built) {
    built = new SCIMMYRouters({
      type: "bearer",
      docUri: "https://datatracker.ietf.org/doc/html/rfc6750",
      // Authentication already happened (requireBearer); this only tells scimmy-routers to go on.
      handler: async () => "",
      context: (req) => (req.res?.locals.scim as unknown) ?? {},
    }) as unknown as Router;
  }
  // Tell the truth in ServiceProviderConfig (scimmy-routers claims bulk support by default).
  SCIMMY.Config.set({
    patch: true,
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults },
    changePassword: false,
    sort: true,
    etag: true,
  } as never);
  return built;
}

/**
 * /ServiceProviderConfig, /ResourceTypes and /Schemas come from scimmy-routers; so do its answers to /Bulk
 * and /Me (501: not offered). It is built once per process because scimmy's registry and configuration are
 * process-wide (each construction would append another authentication scheme).
 */
import { Router as expressRouter, type NextFunction, type Request, type Response, type Router } from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";
import { ScimError } from "../scim/errors";
import { checkAttributeList, checkFilterText } from "../scim-model/input-limits";
import { param } from "./list-query";
import type { Json } from "../lib/json";

const DISCOVERY = /^\/(Schemas|ResourceTypes|ServiceProviderConfig)(?:\/([^/]*))?\/?$/i;

/**
 * scimmy-routers hands discovery requests to scimmy as they are: its attribute projection and its id
 * lookup (`id eq "<id>"`) build objects from names and lex quoted text. The same checks as on /Users first.
 */
export function guardDiscovery(req: Request, _res: Response, next: NextFunction): void {
  const match = DISCOVERY.exec(req.path);
  if (!match) return next();
  try {
    const query = req.query as Record<string, unknown>;
    for (const name of ["attributes", "excludedAttributes"]) {
      const value = param(query, name);
      if (value === undefined) continue;
      checkAttributeList(value, name);
      if (/[[\]"\\]/.test(value)) throw new ScimError(400, "invalidValue", `${name} lists plain attribute names here.`);
    }
    const filter = param(query, "filter");
    if (filter !== undefined) checkFilterText(filter);
    const id = match[2] ? decodeURIComponent(match[2]) : undefined;
    if (id !== undefined && !/^[A-Za-z0-9:._-]{1,200}$/.test(id)) throw new ScimError(404, null, `No ${match[1]} resource '${id.slice(0, 80)}'.`);
    next();
  } catch (error) {
    next(error);
  }
}

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

/** scimmy's discovery answer for this request, as plain JSON, its locations under the request's base URL. */
async function discoveryAnswer(
  Resource: { basepath(path: string): unknown; new (...args: unknown[]): { read(): Promise<unknown> } },
  req: Request,
  res: Response,
  id?: string,
): Promise<Json> {
  Resource.basepath(res.locals.scim.request.baseUrl);
  const resource = id === undefined ? new Resource(req.query) : new Resource(id, req.query);
  return JSON.parse(JSON.stringify(await resource.read())) as Json;
}

function send(res: Response, body: Json): void {
  res.type("application/scim+json").send(body);
}

/**
 * The discovery answers that depend on the target or that scimmy-routers gets wrong: list pages that count
 * what they hold (itemsPerPage), changePassword as the target's vendor has it, and /Me (not offered: the
 * bridge's tokens belong to IdP integrations, not to people).
 */
export function discoveryPerTarget(): Router {
  const router = expressRouter();
  const wrap = (handler: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);
  const lists = [
    ["/Schemas", SCIMMY.Resources.Schema],
    ["/ResourceTypes", SCIMMY.Resources.ResourceType],
  ] as const;
  for (const [path, Resource] of lists)
    router.get(
      path,
      wrap(async (req, res) => {
        const page = await discoveryAnswer(Resource as never, req, res);
        send(res, { ...page, itemsPerPage: Array.isArray(page.Resources) ? page.Resources.length : 0 });
      }),
    );
  router.get(
    "/ServiceProviderConfig",
    wrap(async (req, res) => {
      const config = await discoveryAnswer(SCIMMY.Resources.ServiceProviderConfig as never, req, res);
      send(res, { ...config, changePassword: { supported: res.locals.scim.provisioner.takesPasswords === true } });
    }),
  );
  router.all(["/Me", "/Me/*rest"], (_req, _res, next) =>
    next(new ScimError(501, null, "/Me is not offered: a bridge token belongs to an IdP integration, not to a person. Use /Users/{id}.")),
  );
  return router;
}

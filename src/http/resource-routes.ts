/**
 * /Users and /Groups over HTTP: reads what a request says (path, query, headers, body), hands it to the
 * SCIM service (scim/service.ts), and writes the answer — rendered from the stored view, with Location,
 * ETag, If-None-Match, paging and 200-or-204 PATCH.
 */
import { Router, type NextFunction, type Request, type Response } from "express";
import { withRequest, type ScimContext } from "../scim/context";
import { ScimError } from "../scim/errors";
import { projectionOf, renderResource, type Projection } from "../scim/render";
import { ResourceService } from "../scim/service";
import { versionOfEtag } from "../scim/views";
import type { ResourceKind } from "../store/types";
import { checkProjection, listParamsOf, listRequestOf, param, wantsMembers } from "./list-query";
import type { Json } from "../lib/json";

type Handler = (req: Request, res: Response) => Promise<void>;

/** Where the SCIM endpoints are mounted. */
export const SCIM_MOUNT = "/scim/v2";

const LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

export function scimContext(res: Response): ScimContext {
  return res.locals.scim;
}

function wrap(handler: Handler) {
  return (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);
}

/** attributes / excludedAttributes, checked against the schema, as the projection the answer gets. */
function projection(kind: ResourceKind, query: Record<string, unknown>): Projection {
  const attributes = param(query, "attributes");
  const excludedAttributes = param(query, "excludedAttributes");
  checkProjection(kind, { attributes, excludedAttributes });
  return projectionOf(kind, attributes, excludedAttributes);
}

/** Whether the request names attributes it wants back (a PATCH then answers 200 with them, RFC 7644 §3.5.2). */
function namesAttributes(query: Record<string, unknown>): boolean {
  return param(query, "attributes") !== undefined || param(query, "excludedAttributes") !== undefined;
}

/** A resource answer: its ETag is the stored version, also when the projection leaves meta out. */
function sendResource(res: Response, status: number, view: Json, answer: Json): void {
  const version = (view.meta as Json | undefined)?.version;
  if (typeof version === "string") res.set("ETag", version);
  res.status(status).type("application/scim+json").send(answer);
}

function requireObject(body: unknown, what: string): Json {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new ScimError(400, "invalidSyntax", `${what} needs a JSON object as its body.`);
  return body as Json;
}

/** A SearchRequest's attributes / excludedAttributes: a list of names (or one comma-separated text). */
function attributeNames(body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(",");
  throw new ScimError(400, "invalidValue", `${key} is a list of attribute names (text), such as ["userName", "name.givenName"].`);
}

function searchInteger(body: Json, key: string): number | string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" || typeof value === "string") return value;
  throw new ScimError(400, "invalidValue", `${key} is an integer.`);
}

/** A POST /.search body as the list parameters a GET's query gives. */
function searchParamsOf(body: Json): ReturnType<typeof listParamsOf> {
  const schemas = body.schemas;
  if (Array.isArray(schemas) && !schemas.includes(SEARCH_REQUEST))
    throw new ScimError(400, "invalidValue", `A search request lists the schema ${SEARCH_REQUEST}.`);
  if (body.filter !== undefined && typeof body.filter !== "string")
    throw new ScimError(400, "invalidFilter", "filter is a SCIM filter expression, given as text.");
  for (const key of ["sortBy", "sortOrder"])
    if (body[key] !== undefined && typeof body[key] !== "string") throw new ScimError(400, "invalidValue", `${key} is given as text.`);
  return {
    filter: typeof body.filter === "string" ? body.filter : undefined,
    sortBy: body.sortBy as string | undefined,
    sortOrder: body.sortOrder as string | undefined,
    startIndex: searchInteger(body, "startIndex"),
    count: searchInteger(body, "count"),
    attributes: attributeNames(body, "attributes"),
    excludedAttributes: attributeNames(body, "excludedAttributes"),
  };
}

/** The version If-Match names (none for a missing header or `*`). */
function ifMatchOf(req: Request): number | undefined {
  const header = req.get("if-match");
  if (!header || header.trim() === "*") return undefined;
  const version = versionOfEtag(header.split(",")[0]!);
  if (version === undefined) throw new ScimError(412, null, `If-Match '${header}' is not a version this bridge issued (they look like W/"3").`);
  return version;
}

export function resourceRoutes(kind: ResourceKind, limits: { maxResults: number; defaultCount: number }): Router {
  const router = Router();
  // Resource ids are the bridge's own (UUIDs); anything else names no resource, and never reaches scimmy,
  // which would read it as part of a filter (`id eq "<id>"`).
  router.param("id", (_req, _res, next, id: string) => {
    next(/^[A-Za-z0-9._-]{1,128}$/.test(id) ? undefined : new ScimError(404, null, `${kind} ${id.slice(0, 80)} not found.`));
  });
  const service = new ResourceService(kind);
  const endpoint = `/${kind}s`;

  const locationOf = (ctx: ScimContext, view: Json): string => `${ctx.request.baseUrl}${endpoint}/${String(view.id)}`;
  const render = (ctx: ScimContext, view: Json, shape: Projection): Json => renderResource(kind, view, locationOf(ctx, view), shape);

  async function list(res: Response, base: ScimContext, params: ReturnType<typeof listParamsOf>): Promise<void> {
    const page = listRequestOf(kind, params, limits);
    const ctx = withRequest(base, { list: page });
    ctx.scratch.wantMembers = wantsMembers(params);
    const shape = projectionOf(kind, params.attributes, params.excludedAttributes);
    const { views, total } = await service.list(ctx);
    const resources = views.map((view) => render(ctx, view, shape));
    res
      .type("application/scim+json")
      .send({ schemas: [LIST_RESPONSE], totalResults: total, Resources: resources, startIndex: page.startIndex, itemsPerPage: resources.length });
  }

  /** A PUT or PATCH: whatever refuses it, a deactivation it asks for happens first (scim/service.ts). */
  const write =
    (method: "PUT" | "PATCH", handler: (req: Request, res: Response, ctx: ScimContext) => Promise<void>): Handler =>
    async (req, res) => {
      const ctx = scimContext(res);
      await service.deprovisioningFirst(
        ctx,
        String(req.params.id),
        method,
        req.body,
        async () => {
          // The body broke a limit (src/http/body.ts): refused here, after the deactivation it may ask for.
          if (res.locals.refusedBody) throw res.locals.refusedBody;
          await handler(req, res, ctx);
        },
        () => res.headersSent,
      );
    };

  router.get(
    endpoint,
    wrap(async (req, res) => list(res, scimContext(res), listParamsOf(req.query as Json))),
  );

  router.post(
    `${endpoint}/.search`,
    wrap(async (req, res) => list(res, scimContext(res), searchParamsOf(requireObject(req.body, "POST /.search")))),
  );

  router.get(
    `${endpoint}/:id`,
    wrap(async (req, res) => {
      const ctx = scimContext(res);
      ctx.scratch.wantMembers = wantsMembers(listParamsOf(req.query as Json));
      const shape = projection(kind, req.query as Json);
      const view = await service.get(ctx, String(req.params.id));
      const version = (view.meta as Json).version as string;
      const ifNoneMatch = req.get("if-none-match");
      if (ifNoneMatch && ifNoneMatch.split(",").some((t) => t.trim() === version || t.trim() === "*")) {
        res.set("ETag", version).status(304).end();
        return;
      }
      sendResource(res, 200, view, render(ctx, view, shape));
    }),
  );

  router.post(
    endpoint,
    wrap(async (req, res) => {
      const ctx = scimContext(res);
      const body = requireObject(req.body, `POST ${endpoint}`);
      const shape = projection(kind, req.query as Json);
      const created = await service.create(ctx, body);
      res.location(locationOf(ctx, created));
      sendResource(res, 201, created, render(ctx, created, shape));
    }),
  );

  router.put(
    `${endpoint}/:id`,
    wrap(
      write("PUT", async (req, res, base) => {
        const body = requireObject(req.body, `PUT ${endpoint}/{id}`);
        const ctx = withRequest(base, { expectedVersion: ifMatchOf(req) });
        const shape = projection(kind, req.query as Json);
        const view = await service.replace(ctx, String(req.params.id), body);
        sendResource(res, 200, view, render(ctx, view, shape));
      }),
    ),
  );

  router.patch(
    `${endpoint}/:id`,
    wrap(
      write("PATCH", async (req, res, base) => {
        const body = requireObject(req.body, `PATCH ${endpoint}/{id}`);
        const ctx = withRequest(base, { expectedVersion: ifMatchOf(req) });
        const shape = projection(kind, req.query as Json);
        ctx.scratch.wantMembers = wantsMembers(listParamsOf(req.query as Json));
        // RFC 7644 §3.5.2: 204 only when the request asks for no attributes back; it still carries the ETag.
        const noContent = ctx.target.patchResponse === "no-content" && !namesAttributes(req.query as Json);
        const answer = await service.patch(ctx, String(req.params.id), body, noContent ? "version" : "view");
        if ("view" in answer) return sendResource(res, 200, answer.view, render(ctx, answer.view, shape));
        if (answer.version) res.set("ETag", answer.version);
        res.status(204).end();
      }),
    ),
  );

  router.delete(
    `${endpoint}/:id`,
    wrap(async (req, res) => {
      const ctx = withRequest(scimContext(res), { expectedVersion: ifMatchOf(req) });
      await service.remove(ctx, String(req.params.id));
      res.status(204).end();
    }),
  );

  return router;
}

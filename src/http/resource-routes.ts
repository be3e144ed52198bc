/**
 * /Users and /Groups. scimmy validates input and applies PATCH operations; answers are rendered from the
 * stored views (scim/render.ts). This router adds Location and ETag headers, If-Match / If-None-Match, one
 * writer per resource, paging, the IdP normalisation of compat.ts, the group-membership fast path, and
 * 200-or-204 PATCH.
 */
import { randomUUID } from "node:crypto";
import { Router, type NextFunction, type Request, type Response } from "express";
import { withRequest, type ScimContext } from "../scim/context";
import { normalisePatch, normaliseResource, patchPassword, requestsDeactivation } from "../scim/compat";
import { awaitRecordedChange, deactivateUser, disposeResource, listViews, patchResource, readView, writeResource } from "../scim/handlers";
import { ConcurrentChangeError, describeError, ScimError, staleVersion, type ScimType } from "../scim/errors";
import { applyMembershipPlan, planMembershipPatch } from "../scim/membership-patch";
import { projectionOf, renderResource, type Projection } from "../scim/render";
import { etagOf, versionOfEtag } from "../scim/views";
import type { ResourceKind } from "../store/types";
import { KeyedLock } from "../lib/keyed-lock";
import { checkProjection, listParamsOf, listRequestOf, param, wantsMembers } from "./list-query";
import type { Json } from "../lib/json";

type Handler = (req: Request, res: Response) => Promise<void>;

/** Where the SCIM endpoints are mounted. */
export const SCIM_MOUNT = "/scim/v2";

const LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

export function scimContext(res: Response): ScimContext {
  return res.locals.scim;
}

function wrap(handler: Handler) {
  return (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);
}

/**
 * Nothing in a request may stop the deprovisioning it asks for. A PUT or PATCH of a user that sets active
 * to false and is refused for anything else (an invalid operation, a bad field, an unknown attribute in the
 * query, a stale If-Match) still deactivates the user — vendor first — and then answers the refusal, saying
 * that the deactivation happened.
 */
function deprovisioningFirst(
  kind: ResourceKind,
  method: "PUT" | "PATCH",
  handler: Handler,
  exclusive: (ctx: ScimContext, id: string, work: () => Promise<boolean>) => Promise<boolean>,
): Handler {
  return async (req, res) => {
    try {
      // The body broke a limit (src/http/body.ts): refused here, after the deactivation it may ask for.
      if (res.locals.refusedBody) throw res.locals.refusedBody;
      await handler(req, res);
    } catch (error) {
      if (kind !== "User") throw error;
      // scimmy's refusals, the bridge's ScimErrors, a vendor's refusal and the bridge's own failures (5xx)
      // alike, by the status they answer: only a user that is not there (404) has nothing to deactivate.
      const { status, scimType, detail, unexpected } = describeError(error);
      const failed = status >= 400 && status !== 404;
      if (!failed || res.headersSent || !requestsDeactivation(method, req.body)) throw error;
      const ctx = scimContext(res);
      const id = String(req.params.id);
      if (unexpected)
        ctx.log.error("request failed; deactivating as it asked", {
          requestId: ctx.request.requestId,
          target: ctx.target.name,
          error,
          stack: (error as Error)?.stack,
        });
      if (!(await exclusive(ctx, id, () => deactivateUser(ctx, id)))) throw error;
      await awaitRecordedChange(ctx);
      throw new ScimError(status, (scimType as ScimType | undefined) ?? null, `The user was deactivated; the rest of the request was not applied: ${detail}`);
    }
  };
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

/** The version If-Match names (none for a missing header or `*`). */
function ifMatchOf(req: Request): number | undefined {
  const header = req.get("if-match");
  if (!header || header.trim() === "*") return undefined;
  const version = versionOfEtag(header.split(",")[0]!);
  if (version === undefined) throw new ScimError(412, null, `If-Match '${header}' is not a version this bridge issued (they look like W/"3").`);
  return version;
}

/** The resource read again after its change was delivered; should the store fail, the answer as written. */
async function readBack(read: Promise<{ view: Json }>, written: Json): Promise<Json> {
  try {
    return (await read).view;
  } catch (error) {
    if (describeError(error).status === 503) return written;
    throw error;
  }
}

const CONCURRENT_ATTEMPTS = 5;

async function retryOnConcurrentChange<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ConcurrentChangeError) || attempt >= CONCURRENT_ATTEMPTS) throw error;
    }
  }
}

export function resourceRoutes(kind: ResourceKind, limits: { maxResults: number; defaultCount: number }): Router {
  const router = Router();
  // Resource ids are the bridge's own (UUIDs); anything else names no resource, and never reaches scimmy,
  // which would read it as part of a filter (`id eq "<id>"`).
  router.param("id", (_req, _res, next, id: string) => {
    next(/^[A-Za-z0-9._-]{1,128}$/.test(id) ? undefined : new ScimError(404, null, `${kind} ${id.slice(0, 80)} not found.`));
  });
  const locks = new KeyedLock();
  const endpoint = `/${kind}s`;
  // One writer per resource: in this process (the lock), and across processes sharing a store (the store's lock).
  const exclusive = <T>(ctx: ScimContext, id: string, work: () => Promise<T>) => {
    const key = `${ctx.target.name}/${kind}/${id}`;
    return locks.run(key, () => ctx.stores.admin.exclusive(key, work));
  };

  const locationOf = (ctx: ScimContext, view: Json): string => `${ctx.request.baseUrl}${endpoint}/${String(view.id)}`;
  const render = (ctx: ScimContext, view: Json, shape: Projection): Json => renderResource(kind, view, locationOf(ctx, view), shape);

  async function list(res: Response, base: ScimContext, params: ReturnType<typeof listParamsOf>): Promise<void> {
    const page = listRequestOf(kind, params, limits);
    const ctx = withRequest(base, { list: page });
    ctx.scratch.wantMembers = wantsMembers(params);
    const shape = projectionOf(kind, params.attributes, params.excludedAttributes);
    const { views, total } = await listViews(kind, ctx);
    const resources = views.map((view) => render(ctx, view, shape));
    res
      .type("application/scim+json")
      .send({ schemas: [LIST_RESPONSE], totalResults: total, Resources: resources, startIndex: page.startIndex, itemsPerPage: resources.length });
  }

  router.get(
    endpoint,
    wrap(async (req, res) => list(res, scimContext(res), listParamsOf(req.query as Json))),
  );

  router.post(
    `${endpoint}/.search`,
    wrap(async (req, res) => {
      const body = requireObject(req.body, "POST /.search");
      const schemas = body.schemas;
      if (Array.isArray(schemas) && !schemas.includes("urn:ietf:params:scim:api:messages:2.0:SearchRequest"))
        throw new ScimError(400, "invalidValue", "A search request lists the schema urn:ietf:params:scim:api:messages:2.0:SearchRequest.");
      if (body.filter !== undefined && typeof body.filter !== "string")
        throw new ScimError(400, "invalidFilter", "filter is a SCIM filter expression, given as text.");
      for (const key of ["sortBy", "sortOrder"])
        if (body[key] !== undefined && typeof body[key] !== "string") throw new ScimError(400, "invalidValue", `${key} is given as text.`);
      await list(res, scimContext(res), {
        filter: typeof body.filter === "string" ? body.filter : undefined,
        sortBy: body.sortBy as string | undefined,
        sortOrder: body.sortOrder as string | undefined,
        startIndex: searchInteger(body, "startIndex"),
        count: searchInteger(body, "count"),
        attributes: attributeNames(body, "attributes"),
        excludedAttributes: attributeNames(body, "excludedAttributes"),
      });
    }),
  );

  router.get(
    `${endpoint}/:id`,
    wrap(async (req, res) => {
      const ctx = scimContext(res);
      ctx.scratch.wantMembers = wantsMembers(listParamsOf(req.query as Json));
      const shape = projection(kind, req.query as Json);
      const { view } = await readView(kind, String(req.params.id), ctx);
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
      const { resource, password } = normaliseResource(kind, requireObject(req.body, `POST ${endpoint}`));
      const ctx = withRequest(scimContext(res), { password });
      ctx.scratch.wantMembers = true;
      const shape = projection(kind, req.query as Json);
      // One create per userName at a time, so concurrent duplicates never reach the vendor twice.
      const name = kind === "User" && typeof resource.userName === "string" ? resource.userName.toLowerCase() : randomUUID();
      let created = await exclusive(ctx, `name:${name}`, () => writeResource(kind, undefined, resource, ctx));
      // The vendor is waited for with the lock given back; the answer then shows what it did.
      if (await awaitRecordedChange(ctx)) created = await readBack(readView(kind, String(created.id), ctx), created);
      res.location(locationOf(ctx, created));
      sendResource(res, 201, created, render(ctx, created, shape));
    }),
  );

  router.put(
    `${endpoint}/:id`,
    wrap(
      deprovisioningFirst(
        kind,
        "PUT",
        async (req, res) => {
          const id = String(req.params.id);
          const { resource, password } = normaliseResource(kind, requireObject(req.body, `PUT ${endpoint}/{id}`));
          const deactivates = kind === "User" && requestsDeactivation("PUT", req.body);
          const ctx = withRequest(scimContext(res), { password, deactivates, expectedVersion: ifMatchOf(req) });
          ctx.scratch.wantMembers = true;
          const shape = projection(kind, req.query as Json);
          const written = await exclusive(ctx, id, () => writeResource(kind, id, resource, ctx));
          const answer = (await awaitRecordedChange(ctx)) ? await readBack(readView(kind, id, ctx), written) : written;
          sendResource(res, 200, answer, render(ctx, answer, shape));
        },
        exclusive,
      ),
    ),
  );

  router.patch(
    `${endpoint}/:id`,
    wrap(
      deprovisioningFirst(
        kind,
        "PATCH",
        async (req, res) => {
          const id = String(req.params.id);
          const body = requireObject(req.body, `PATCH ${endpoint}/{id}`);
          const ctx = withRequest(scimContext(res), {
            password: kind === "User" ? patchPassword(body) : undefined,
            deactivates: kind === "User" && requestsDeactivation("PATCH", body),
            expectedVersion: ifMatchOf(req),
          });
          const shape = projection(kind, req.query as Json);
          // Writers wait for each other (exclusive); should a write still find the version changed since its
          // read (a writer that took no lock), a request without If-Match is read and applied again.
          const written = await retryOnConcurrentChange(() =>
            exclusive(ctx, id, async () => {
              const operations = normalisePatch(kind, body).Operations;
              const plan = kind === "Group" && Array.isArray(operations) ? planMembershipPatch(operations) : undefined;
              if (plan) {
                const existing = await ctx.stores.resources.get(ctx.target.name, kind, id);
                if (!existing) throw new ScimError(404, null, `${kind} ${id} not found.`);
                // If-Match holds before any member reaches the vendor.
                if (ctx.request.expectedVersion !== undefined && existing.version !== ctx.request.expectedVersion) throw staleVersion(kind, existing.version);
                await applyMembershipPlan(ctx, id, plan);
                return undefined;
              }
              ctx.scratch.wantMembers = true; // the operations apply to the members too
              return patchResource(kind, id, ctx, (current) => normalisePatch(kind, body, current));
            }),
          );
          const waited = await awaitRecordedChange(ctx);
          // RFC 7644 §3.5.2: 204 only when the request asks for no attributes back; it still carries the ETag.
          if (ctx.target.patchResponse === "no-content" && !namesAttributes(req.query as Json)) {
            const version = !waited && written ? (written.meta as Json).version : await currentVersion(ctx, id);
            if (typeof version === "string") res.set("ETag", version);
            res.status(204).end();
            return;
          }
          ctx.scratch.wantMembers = wantsMembers(listParamsOf(req.query as Json));
          const answer = written && !waited && (kind === "User" || ctx.scratch.wantMembers) ? written : (await readView(kind, id, ctx)).view;
          sendResource(res, 200, answer, render(ctx, answer, shape));
        },
        exclusive,
      ),
    ),
  );

  router.delete(
    `${endpoint}/:id`,
    wrap(async (req, res) => {
      const id = String(req.params.id);
      const ctx = withRequest(scimContext(res), { expectedVersion: ifMatchOf(req) });
      await exclusive(ctx, id, () => disposeResource(kind, id, ctx));
      await awaitRecordedChange(ctx);
      res.status(204).end();
    }),
  );

  /** The ETag of the resource as stored now (a cheap read: no members, no views). */
  async function currentVersion(ctx: ScimContext, id: string): Promise<string | undefined> {
    const stored = await ctx.stores.resources.get(ctx.target.name, kind, id);
    return stored ? etagOf(stored.version) : undefined;
  }

  return router;
}

/**
 * The SCIM operations on Users and Groups, each from read to answer: one writer per resource, read →
 * check → apply → record, the wait for the vendor with the lock given back, and the view that answers.
 * The HTTP edge (http/resource-routes.ts) only reads the request and writes the response.
 */
import { randomUUID } from "node:crypto";
import type { ResourceKind } from "../store/types";
import { withRequest, type ScimContext } from "./context";
import { normalisePatch, normaliseResource, patchPassword, requestsDeactivation } from "./compat";
import { ConcurrentChangeError, describeError, ScimError, staleVersion, type ScimType } from "./errors";
import { notFound, storeError } from "./documents";
import { removeGroup } from "./groups";
import { applyMembershipPlan, planMembershipPatch } from "./membership-patch";
import { patchResource } from "./patch";
import { awaitRecordedChange, deactivateUser, removeUser } from "./users";
import { etagOf, listViews, readView } from "./views";
import { viewOfWritten, writeResource, type Written } from "./writes";
import { KeyedLock } from "../lib/keyed-lock";
import type { Json } from "../lib/json";

const CONCURRENT_ATTEMPTS = 5;

/** Should a write find the version changed since its read (a writer that took no lock), a request without If-Match is read and applied again. */
async function retryOnConcurrentChange<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ConcurrentChangeError) || attempt >= CONCURRENT_ATTEMPTS) throw error;
    }
  }
}

/** What a PATCH answers: the resource's view, or (for a 204) only its version. */
export type PatchAnswer = { view: Json } | { version: string | undefined };

export class ResourceService {
  private readonly locks = new KeyedLock();

  constructor(readonly kind: ResourceKind) {}

  /** One writer per resource: in this process (the lock), and across processes sharing a store (the store's lock). */
  private exclusive<T>(ctx: ScimContext, id: string, work: () => Promise<T>): Promise<T> {
    const key = `${ctx.target.name}/${this.kind}/${id}`;
    return this.locks.run(key, () => ctx.stores.admin.exclusive(key, work));
  }

  /** The answer to a write, once the vendor has been waited for (with the lock given back). */
  private async answer(ctx: ScimContext, written: Written): Promise<Json> {
    await awaitRecordedChange(ctx);
    return viewOfWritten(ctx, written);
  }

  get(ctx: ScimContext, id: string): Promise<Json> {
    return readView(this.kind, id, ctx).then(({ view }) => view);
  }

  list(ctx: ScimContext): Promise<{ views: Json[]; total: number }> {
    return listViews(this.kind, ctx);
  }

  async create(base: ScimContext, body: Json): Promise<Json> {
    const { resource, password } = normaliseResource(this.kind, body);
    const ctx = withRequest(base, { password });
    ctx.scratch.wantMembers = true;
    // One create per userName at a time, so concurrent duplicates never reach the vendor twice.
    const name = this.kind === "User" && typeof resource.userName === "string" ? resource.userName.toLowerCase() : randomUUID();
    const written = await this.exclusive(ctx, `name:${name}`, () => writeResource(this.kind, ctx, undefined, resource));
    return this.answer(ctx, written);
  }

  async replace(base: ScimContext, id: string, body: Json): Promise<Json> {
    const { resource, password } = normaliseResource(this.kind, body);
    const ctx = withRequest(base, { password, deactivates: this.kind === "User" && requestsDeactivation("PUT", body) });
    ctx.scratch.wantMembers = true;
    const written = await this.exclusive(ctx, id, () => writeResource(this.kind, ctx, id, resource));
    return this.answer(ctx, written);
  }

  /**
   * A PatchOp. Writers wait for each other (exclusive); a group's membership change takes the fast path
   * (row inserts and deletes, no member list read). `answer`: the view, or only the version (a 204).
   */
  async patch(base: ScimContext, id: string, body: Json, answer: "view" | "version"): Promise<PatchAnswer> {
    const ctx = withRequest(base, {
      password: this.kind === "User" ? patchPassword(body) : undefined,
      deactivates: this.kind === "User" && requestsDeactivation("PATCH", body),
    });
    const wantMembers = ctx.scratch.wantMembers;
    const written = await retryOnConcurrentChange(() =>
      this.exclusive(ctx, id, async () => {
        const operations = normalisePatch(this.kind, body).Operations;
        const plan = this.kind === "Group" && Array.isArray(operations) ? planMembershipPatch(operations) : undefined;
        if (plan) return this.changeMembership(ctx, id, plan);
        return patchResource(this.kind, id, ctx, (current) => normalisePatch(this.kind, body, current));
      }),
    );
    await awaitRecordedChange(ctx);
    if (answer === "version") return { version: written ? writtenVersion(written) : await this.currentVersion(ctx, id) };
    if (written) return { view: await viewOfWritten(ctx, written) };
    ctx.scratch.wantMembers = wantMembers;
    return { view: await this.get(ctx, id) };
  }

  /** The membership fast path: If-Match holds before any member reaches the vendor. */
  private async changeMembership(ctx: ScimContext, id: string, plan: NonNullable<ReturnType<typeof planMembershipPatch>>): Promise<undefined> {
    const existing = await ctx.stores.resources.get(ctx.target.name, this.kind, id);
    if (!existing) throw notFound(this.kind, id);
    if (ctx.request.expectedVersion !== undefined && existing.version !== ctx.request.expectedVersion) throw staleVersion(this.kind, existing.version);
    await applyMembershipPlan(ctx, id, plan);
    return undefined;
  }

  /** A DELETE: checked against If-Match, then removed; a user's vendor user is removed through the outbox and waited for. */
  async remove(ctx: ScimContext, id: string): Promise<void> {
    await this.exclusive(ctx, id, async () => {
      const before = await ctx.stores.resources.get(ctx.target.name, this.kind, id);
      if (!before) throw notFound(this.kind, id);
      if (ctx.request.expectedVersion !== undefined && before.version !== ctx.request.expectedVersion) throw staleVersion(this.kind, before.version);
      await (this.kind === "User" ? removeUser(ctx, before) : removeGroup(ctx, before)).catch((error: unknown) => storeError(error, this.kind));
    });
    await awaitRecordedChange(ctx);
  }

  /**
   * Nothing in a request may stop the deprovisioning it asks for. A PUT or PATCH of a user that sets active
   * to false and is refused for anything else (an invalid operation, a bad field, an unknown attribute in the
   * query, a stale If-Match, a body over a limit) still deactivates the user — vendor first — and then
   * answers the refusal, saying that the deactivation happened. `answered`: whether a response went out.
   */
  async deprovisioningFirst(
    ctx: ScimContext,
    id: string,
    method: "PUT" | "PATCH",
    body: unknown,
    work: () => Promise<void>,
    answered: () => boolean,
  ): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (this.kind !== "User") throw error;
      // scimmy's refusals, the bridge's ScimErrors, a vendor's refusal and the bridge's own failures (5xx)
      // alike, by the status they answer: only a user that is not there (404) has nothing to deactivate.
      const { status, scimType, detail, unexpected } = describeError(error);
      const failed = status >= 400 && status !== 404;
      if (!failed || answered() || !requestsDeactivation(method, body)) throw error;
      if (unexpected)
        ctx.log.error("request failed; deactivating as it asked", {
          requestId: ctx.request.requestId,
          target: ctx.target.name,
          error,
          stack: (error as Error)?.stack,
        });
      if (!(await this.exclusive(ctx, id, () => deactivateUser(ctx, id)))) throw error;
      await awaitRecordedChange(ctx);
      throw new ScimError(status, (scimType as ScimType | undefined) ?? null, `The user was deactivated; the rest of the request was not applied: ${detail}`);
    }
  }

  /** The ETag of the resource as stored now (a cheap read: no members, no views). */
  private async currentVersion(ctx: ScimContext, id: string): Promise<string | undefined> {
    const stored = await ctx.stores.resources.get(ctx.target.name, this.kind, id);
    return stored ? etagOf(stored.version) : undefined;
  }
}

function writtenVersion(written: Written): string | undefined {
  const version = written.kind === "User" ? etagOf(written.stored.version) : (written.view.meta as Json | undefined)?.version;
  return typeof version === "string" ? version : undefined;
}

/** A bridge for tests: in-memory SQLite, store-only targets, a listening server on a port the OS picks. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import request from "supertest";
import { configFrom } from "../../src/config/load";
import { hashToken } from "../../src/http/auth";
import { createApp } from "../../src/http/app";
import { createLogger } from "../../src/log";
import type { Provisioner } from "../../src/provisioning/provisioner";
import { buildProvisioners } from "../../src/provisioning/targets";
import { sqliteStores } from "../../src/store/open";
import type { OutboxStore } from "../../src/store/outbox/port";
import type { Stores } from "../../src/store/stores";

export const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
export const CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

export interface TestTarget {
  name: string;
  token?: string;
  patchResponse?: "resource" | "no-content";
  vendor?: Record<string, unknown>;
  filterBudget?: { rows?: number; ms?: number };
}

export interface TestBridge {
  server: Server;
  stores: Stores;
  logs: string[];
  base: string;
  /** supertest bound to the server with the target's token already set. */
  as(target: string): {
    get(path: string): request.Test;
    post(path: string, body?: unknown): request.Test;
    put(path: string, body?: unknown): request.Test;
    patch(path: string, body?: unknown): request.Test;
    delete(path: string): request.Test;
  };
  raw(): ReturnType<typeof request>;
  token(target: string): string;
  close(): Promise<void>;
}

export async function startTestBridge(
  targets: TestTarget[] = [{ name: "acme" }],
  options: {
    bodyLimit?: string;
    maxResults?: number;
    provisioners?: Map<string, Provisioner>;
    env?: NodeJS.ProcessEnv;
    stores?: Stores;
    outbox?: Record<string, unknown>;
    /** What the SCIM side is given in place of the stores (the outbox worker keeps the real ones). */
    scimStores?: (stores: Stores) => Stores;
  } = {},
): Promise<TestBridge> {
  const tokens = new Map(targets.map((t) => [t.name, t.token ?? `token-${t.name}-${Math.random().toString(36).slice(2)}`]));
  const config = configFrom({
    server: { port: 0, bodyLimit: options.bodyLimit ?? "1mb", maxResults: options.maxResults ?? 1000 },
    outbox: { pollMs: 50, ...options.outbox },
    targets: targets.map((t) => ({
      name: t.name,
      tokens: [{ sha256: hashToken(tokens.get(t.name)!) }],
      patchResponse: t.patchResponse ?? "resource",
      ...(t.vendor ? { vendor: t.vendor } : {}),
      ...(t.filterBudget ? { filterBudget: t.filterBudget } : {}),
    })),
  });
  const stores = options.stores ?? sqliteStores(":memory:");
  if (!options.stores) await stores.admin.migrate();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const log = createLogger("debug", sink);
  const built = targets.some((t) => t.vendor) ? buildProvisioners(config, stores, log, options.env ?? process.env) : undefined;
  const app = createApp({
    config,
    stores: options.scimStores ? options.scimStores(stores) : stores,
    log,
    provisioners: options.provisioners ?? built?.provisioners,
    deliveries: options.provisioners ? undefined : built?.deliveries,
  });
  built?.worker.start();
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const agent = request(server);
  const auth = (t: request.Test, target: string) => t.set("Authorization", `Bearer ${tokens.get(target)}`).set("Content-Type", "application/scim+json");
  return {
    server,
    stores,
    logs,
    base: `http://127.0.0.1:${port}/scim/v2`,
    as(target) {
      return {
        get: (path) => auth(agent.get(`/scim/v2${path}`), target),
        post: (path, body) => auth(agent.post(`/scim/v2${path}`), target).send(body as object),
        put: (path, body) => auth(agent.put(`/scim/v2${path}`), target).send(body as object),
        patch: (path, body) => auth(agent.patch(`/scim/v2${path}`), target).send(body as object),
        delete: (path) => auth(agent.delete(`/scim/v2${path}`), target),
      };
    },
    raw: () => agent,
    token: (target) => tokens.get(target)!,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await built?.worker.stop(5_000);
      await built?.close();
      if (!options.stores) await stores.admin.close();
    },
  };
}

export function user(userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemas: [CORE_USER],
    userName,
    name: { givenName: "Given", familyName: "Family" },
    emails: [{ value: `${userName.replace(/@.*/, "")}@example.com`, type: "work", primary: true }],
    active: true,
    ...extra,
  };
}

export function patchOp(...operations: Record<string, unknown>[]): Record<string, unknown> {
  return { schemas: [PATCH_OP], Operations: operations };
}

/**
 * Waits until `check` passes (it throws or answers false until then), for at most `timeoutMs`: the outbox
 * delivers in the background, so a test waits for the state it expects, never for a fixed time.
 */
export async function eventually<T>(check: () => Promise<T | false> | T | false, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value !== false) return value as T;
      if (Date.now() > until) throw new Error("eventually: the condition stayed false");
    } catch (error) {
      if (Date.now() > until) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Resolves once the store's outbox holds no pending work (failed rows stay: they are dead letters). */
export async function outboxDrained(outbox: OutboxStore, timeoutMs = 30_000): Promise<void> {
  await eventually(async () => (await outbox.list({ state: "pending", limit: 1 })).length === 0, timeoutMs);
}

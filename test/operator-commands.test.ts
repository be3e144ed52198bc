/**
 * The day-two commands: `backup` copies a SQLite store while it is open, `audit` and `reconcile` answer
 * in JSON and take --since, `reconcile --all` covers every vendor target. And the request log: health
 * probes at debug, requests with the client's address and user agent; no status page unless configured.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import request from "supertest";
import { runCli } from "../src/cli/commands";
import { backupCommand } from "../src/cli/backup";
import { configFrom } from "../src/config/load";
import { createApp } from "../src/http/app";
import { hashToken } from "../src/http/auth";
import { LiveTargets } from "../src/http/live-targets";
import { createLogger } from "../src/log";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { STATUS_MOUNT, statusRoutes } from "../src/status/routes";
import { sqliteStores } from "../src/store/open";
import { ENV, VENDORS } from "./helpers/vendors";

const dir = mkdtempSync(join(tmpdir(), "scim-bridge-commands-"));

async function cli(args: string[]): Promise<{ code: number | undefined; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

function configFile(name: string, data: Record<string, unknown>): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(data));
  return file;
}

describe("backup", () => {
  it("copies the SQLite store while it is open, and refuses to overwrite", async () => {
    const path = join(dir, "live.db");
    const store = sqliteStores(path);
    await store.admin.migrate();
    try {
      await store.trail.record({
        target: "okta",
        at: new Date().toISOString(),
        requestId: "r-1",
        operation: "create",
        call: "CreateUser",
        outcome: "success",
        attempts: 1,
        ms: 5,
      });
      const config = configFrom({ store: { kind: "sqlite", path }, targets: [{ name: "okta", tokens: [{ sha256: hashToken("t") }] }] });
      const to = join(dir, "copy.db");
      const result = await backupCommand(config, to);
      expect(result).toMatchObject({ code: 0, out: [expect.stringMatching(/^backed up .*live\.db to .*copy\.db \(\d+ pages, \d+ ms\)$/)] });
      const copy = sqliteStores(to);
      expect((await copy.trail.calls("okta", { limit: 10 })).map((c) => c.requestId)).toEqual(["r-1"]);
      await copy.admin.close();
      expect((await backupCommand(config, to)).code).toBe(2);
    } finally {
      await store.admin.close();
    }
  });

  it("points PostgreSQL stores to pg_dump", async () => {
    const config = configFrom({ store: { kind: "postgres", url: "postgres://x@y/z" }, targets: [{ name: "okta", tokens: [{ sha256: hashToken("t") }] }] });
    expect(await backupCommand(config, join(dir, "pg.db"))).toEqual({ code: 2, out: [expect.stringContaining("pg_dump")] });
  });
});

describe("audit --since --json", () => {
  it("answers only the calls since then, as JSON", async () => {
    const path = join(dir, "audit.db");
    const store = sqliteStores(path);
    await store.admin.migrate();
    const call = (at: string, requestId: string) =>
      store.trail.record({ target: "okta", at, requestId, operation: "disable", call: "UpdateUserStatus", outcome: "success", attempts: 1, ms: 3 });
    await call("2026-01-01T00:00:00.000Z", "old");
    await call(new Date(Date.now() - 60_000).toISOString(), "recent");
    await store.admin.close();
    const file = configFile("audit", { store: { kind: "sqlite", path }, targets: [{ name: "okta", tokens: [{ sha256: hashToken("t") }] }] });
    const recent = await cli(["audit", "--config", file, "--target", "okta", "--since", "1h", "--json"]);
    expect(recent.code).toBe(0);
    expect((JSON.parse(recent.out[0]!) as { calls: { requestId: string }[] }).calls.map((c) => c.requestId)).toEqual(["recent"]);
    const all = await cli(["audit", "--config", file, "--target", "okta", "--since", "2025-12-31"]);
    expect(all.out).toHaveLength(2);
  });
});

describe("reconcile --all --json", () => {
  const fixtures = VENDORS.filter((v) => ["tencent-cic", "volcengine-cloudidentity"].includes(v.name));
  const sandboxes: VendorSandbox[] = [];
  afterAll(() => Promise.all(sandboxes.map((s) => s.close())));

  it("reports every vendor target, and only those", async () => {
    Object.assign(process.env, ENV);
    const targets = [{ name: "store-only", tokens: [{ sha256: hashToken("s") }] }];
    for (const fixture of fixtures) {
      const sandbox = fixture.sandbox();
      sandboxes.push(sandbox);
      targets.push({
        name: fixture.name.split("-")[1]!,
        tokens: [{ sha256: hashToken(fixture.name) }],
        vendor: fixture.vendor(await sandbox.listen()),
      } as (typeof targets)[number]);
    }
    const file = configFile("reconcile", { store: { kind: "sqlite", path: join(dir, "reconcile.db") }, targets });
    const result = await cli(["reconcile", "--all", "--config", file, "--json"]);
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    // In the config's order; the store-only target has nothing to reconcile.
    expect((JSON.parse(result.out[0]!) as { target: string; drifts: unknown[] }[]).map((r) => [r.target, r.drifts])).toEqual([
      ["cloudidentity", []],
      ["cic", []],
    ]);
    expect((await cli(["reconcile", "--all", "--target", "cic", "--config", file])).code).toBe(2);
    expect((await cli(["reconcile", "--config", file])).code).toBe(2);
  });
});

describe("the request log", () => {
  it("logs health probes at debug, and requests with the client's address and user agent", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger("debug", new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(String(chunk)) as Record<string, unknown>), done()) }));
    const store = sqliteStores(":memory:");
    await store.admin.migrate();
    const app = createApp({ config: configFrom({ targets: [{ name: "okta", tokens: [{ sha256: hashToken("t") }] }] }), stores: store, log });
    await request(app).get("/healthz").expect(200);
    await request(app).get("/scim/v2/Users").set("Authorization", "Bearer t").set("User-Agent", "Okta SCIM Client 1.0").expect(200);
    const requests = lines.filter((l) => l.message === "request");
    expect(requests.map((l) => [l.path, l.level])).toEqual([
      ["/healthz", "debug"],
      ["/scim/v2/Users", "info"],
    ]);
    expect(requests[1]).toMatchObject({ client: expect.stringMatching(/127\.0\.0\.1/), userAgent: "Okta SCIM Client 1.0", target: "okta" });
    await store.admin.close();
  });
});

describe("the status page", () => {
  it("does not exist while no admin token is configured", async () => {
    const store = sqliteStores(":memory:");
    await store.admin.migrate();
    const config = configFrom({ targets: [{ name: "okta", tokens: [{ sha256: hashToken("t") }] }] });
    const log = createLogger("error", new Writable({ write: (_c, _e, done) => done() }));
    const live = new LiveTargets(config);
    const app = createApp({ config, stores: store, log, live, mounts: [{ path: STATUS_MOUNT, router: statusRoutes(live, store, log) }] });
    await request(app).get("/status").set("Authorization", "Bearer t").expect(404);
    await request(app).get("/status/data.json").expect(404);
    await store.admin.close();
  });
});

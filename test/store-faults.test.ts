/**
 * The store failing under a running bridge: SQLite's file removed, read-only or locked by another process;
 * PostgreSQL's connections terminated or outnumbered by writers. Each is a 503 that names the store (with
 * Retry-After), /readyz says so, the process stays up, and it recovers without a restart when it can.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { postgresStores, sqliteStores } from "../src/store/open";
import type { Stores } from "../src/store/stores";
import { StoreUnavailableError } from "../src/store/types";
import { patchOp, startTestBridge, user, type TestBridge } from "./helpers/bridge";
import { dropSchema, POSTGRES_URL } from "./helpers/stores";
import { ENV, VENDORS } from "./helpers/vendors";

function expectStore503(res: { status: number; headers: Record<string, string>; body: Record<string, unknown> }): void {
  expect(res.status).toBe(503);
  expect(res.headers["retry-after"]).toBe("5");
  expect(String(res.body.detail)).toMatch(/bridge's store/);
  expect(String(res.body.detail)).not.toMatch(/vendor did not|did not answer/);
}

describe("SQLite", () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "scim-bridge-faults-"));
    path = join(dir, "bridge.db");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function bridgeOn(store: Stores, targets = [{ name: "acme" }] as Parameters<typeof startTestBridge>[0]): Promise<TestBridge> {
    await store.admin.migrate();
    return startTestBridge(targets, { stores: store, env: ENV });
  }

  it("a file removed while running: writes answer 503 (never an acknowledged write that a restart loses), /readyz is unready", async () => {
    const store = sqliteStores(path);
    const bridge = await bridgeOn(store);
    try {
      await bridge.as("acme").post("/Users", user("before@example.com")).expect(201);
      await bridge.raw().get("/readyz").expect(200);
      for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
      expectStore503(await bridge.as("acme").post("/Users", user("after@example.com")));
      expect((await bridge.raw().get("/readyz").expect(503)).body.status).toBe("unavailable");
      await bridge.raw().get("/healthz").expect(200);
    } finally {
      await bridge.close();
      await store.admin.close();
    }
  });

  it("a read-only file: reads still answer, writes are 503 'read-only', /readyz is unready", async () => {
    const seed = sqliteStores(path);
    await seed.admin.migrate();
    await seed.admin.close();
    execFileSync("chattr", ["+i", path]);
    try {
      const store = sqliteStores(path);
      const bridge = await bridgeOn(store);
      try {
        await bridge.as("acme").get("/Users").expect(200);
        const res = await bridge.as("acme").post("/Users", user("ro@example.com"));
        expectStore503(res);
        expect(res.body.detail).toMatch(/read-only/);
        await bridge.raw().get("/readyz").expect(503);
      } finally {
        await bridge.close();
        await store.admin.close();
      }
    } finally {
      execFileSync("chattr", ["-i", path]);
    }
  });

  it("a lock another process holds: the event loop keeps serving while a write waits, and the write lands once the lock goes", async () => {
    const store = sqliteStores(path);
    const bridge = await bridgeOn(store);
    const other = new Database(path);
    try {
      other.exec("BEGIN EXCLUSIVE");
      setTimeout(() => other.exec("COMMIT"), 400).unref();
      const started = performance.now();
      const write = bridge
        .as("acme")
        .post("/Users", user("waits@example.com"))
        .then((r) => r);
      const health = await bridge.raw().get("/healthz").expect(200);
      const healthMs = performance.now() - started;
      expect(health.body.status).toBe("ok");
      expect(healthMs).toBeLessThan(2_000); // answered while the write was still waiting for the lock
      expect((await write).status).toBe(201);
    } finally {
      other.close();
      await bridge.close();
      await store.admin.close();
    }
  });

  it("a lock held longer than the wait bound: 503 naming the store, not a vendor time-out, even on a vendor target", async () => {
    const fixture = VENDORS.find((v) => v.name === "tencent-cic")!;
    const sandbox = fixture.sandbox();
    const url = await sandbox.listen();
    const store = sqliteStores(path, { busyBudgetMs: 300 });
    const bridge = await bridgeOn(store, [{ name: "acme" }, { name: "cic", vendor: fixture.vendor(url) }]);
    const other = new Database(path);
    try {
      other.exec("BEGIN EXCLUSIVE");
      expectStore503(await bridge.as("acme").post("/Users", user("locked@example.com")));
      const res = await bridge.as("cic").post("/Users", user("locked-vendor@example.com"));
      expectStore503(res);
      expect(res.body.detail).toMatch(/locked by another process/);
      other.exec("COMMIT");
      // The vendor user the first attempt made is adopted by the retry: nothing is lost.
      await bridge.as("cic").post("/Users", user("locked-vendor@example.com")).expect(201);
      await bridge.raw().get("/readyz").expect(200);
    } finally {
      other.close();
      await bridge.close();
      await store.admin.close();
      await sandbox.close();
    }
  });
});

describe("PostgreSQL", () => {
  const schema = () => `t_faults_${Math.random().toString(36).slice(2, 10)}`;
  const appName = () => `scim_bridge_faults_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
  afterAll(() => admin.end());
  const terminate = (application: string) =>
    admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()", [application]);
  const urlFor = (application: string) => `${POSTGRES_URL}${POSTGRES_URL.includes("?") ? "&" : "?"}application_name=${application}`;

  it("3 × poolSize concurrent writes all complete (a writer never waits for a second connection), and /readyz answers meanwhile", async () => {
    const own = schema();
    const store = postgresStores(POSTGRES_URL, { poolSize: 3, schema: own });
    await store.admin.migrate();
    const bridge = await startTestBridge([{ name: "acme" }], { stores: store });
    try {
      const groups: string[] = [];
      for (let i = 0; i < 9; i++)
        groups.push(
          (
            await bridge
              .as("acme")
              .post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: `G${i}` })
              .expect(201)
          ).body.id,
        );
      const writes = Promise.all([
        ...Array.from({ length: 9 }, (_, i) =>
          bridge
            .as("acme")
            .post("/Users", user(`w${i}@example.com`))
            .then((r) => r.status),
        ),
        ...groups.map((id, i) =>
          bridge
            .as("acme")
            .patch(`/Groups/${id}`, patchOp({ op: "add", path: "externalId", value: `e${i}` }))
            .then((r) => r.status),
        ),
      ]);
      const ready = bridge
        .raw()
        .get("/readyz")
        .then((r) => r.status);
      const bound = new Promise<string>((resolve) => setTimeout(() => resolve("stuck"), 15_000).unref());
      expect(await Promise.race([writes.then((s) => s.join(",")), bound])).toBe([...Array(9).fill(201), ...Array(9).fill(200)].join(","));
      expect(await ready).toBe(200);
    } finally {
      await bridge.close();
      await store.admin.close();
      await dropSchema(own);
    }
  });

  it("terminated backends (a failover): the process stays up, a request on a lost connection is a 503, and the next ones are served", async () => {
    const application = appName();
    const own = schema();
    const store = postgresStores(urlFor(application), { poolSize: 4, schema: own });
    await store.admin.migrate();
    const bridge = await startTestBridge([{ name: "acme" }], { stores: store });
    try {
      const id = (await bridge.as("acme").post("/Users", user("fo@example.com")).expect(201)).body.id;
      // Idle connections ended: each emits 'error' in the pool, which must not end the process.
      await terminate(application);
      // A request may still draw an ended connection the pool has not yet heard about (a 503); the next is served.
      expect([200, 503]).toContain((await bridge.as("acme").get(`/Users/${id}`)).status);
      await bridge.as("acme").get(`/Users/${id}`).expect(200);
      // A connection ended while a writer holds it (with its advisory lock).
      const held = store.admin.exclusive("fault-key", async () => {
        await terminate(application);
        return store.resources.get("acme", "User", id);
      });
      await expect(held).rejects.toBeInstanceOf(StoreUnavailableError);
      await bridge
        .as("acme")
        .patch(`/Users/${id}`, patchOp({ op: "replace", path: "active", value: false }))
        .expect(200);
      await bridge.raw().get("/readyz").expect(200);
    } finally {
      await bridge.close();
      await store.admin.close();
      await dropSchema(own);
    }
  });

  it("a database that is away: 503 with Retry-After that names the store; /readyz answers unready within its bound", async () => {
    const store = postgresStores("postgres://nobody@127.0.0.1:1/none", { poolSize: 2, connectTimeoutMs: 500 });
    const bridge = await startTestBridge([{ name: "acme" }], { stores: store });
    try {
      expectStore503(await bridge.as("acme").post("/Users", user("away@example.com")));
      await bridge.raw().get("/readyz").expect(503);
    } finally {
      await bridge.close();
      await store.admin.close();
    }
  });
});

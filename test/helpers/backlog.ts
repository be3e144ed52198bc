/**
 * A deactivation behind a backlog, scaled down in time with the shape kept: an IdP's first cycle pushes
 * creates at twenty times the vendor's limit for 20 s (answered once recorded, so the outbox holds
 * minutes of work, and every request's own run competes for the limit's slots), while it deactivates a
 * user every few seconds. Each deactivation must reach the vendor — its own record says when — well within
 * a minute, not behind the queue. Bridge and vendor are processes of their own.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashToken } from "../../src/http/auth";
import { PostgresStore } from "../../src/store/postgres";
import { SqliteStore } from "../../src/store/sqlite";
import type { Store } from "../../src/store/types";
import { eventually, patchOp, user } from "./bridge";
import { cicVendor, compileBridge, inPool, scim, startBridgeProcess, startVendorProcess, stopChild } from "./processes";
import { POSTGRES_URL } from "./stores";

/** The vendor's limit (calls a second), and the bridge's. */
const LIMIT = 2;
/**
 * How long the IdP pushes, and how fast at most: about 800 creates, 400 s of the vendor's limit, queued in
 * 20 s (the full case, in `npm run bench:deprovision`: 10,000 at 20 a second, 500 s).
 */
const PUSH_MS = 20_000;
const PUSH_PER_SECOND = 40;
/** When, into the push, a leaver is deactivated. */
const DEACTIVATE_AT_MS = [2_000, 6_000, 10_000, 14_000, 18_000];
/**
 * What each deactivation may take at most: other work books the limit's slots at most 3 s ahead, a
 * deactivation books past them (and again, if a busy event loop makes it miss its slot). Behind the queue, a
 * deactivation would wait minutes; before deprovisionings could book past other work, they waited here
 * 19-28 s, until the push ended.
 */
const BOUND_MS = 15_000;

interface BacklogResult {
  /** From each deactivation's request to its arrival at the vendor, ms. */
  toVendor: number[];
  /** Work pending when the push ended, in seconds of the vendor's limit. */
  backlogSeconds: number;
}

async function deactivationsBehindBacklog(kind: "sqlite" | "postgres"): Promise<BacklogResult> {
  const dir = mkdtempSync(join(tmpdir(), "scim-bridge-backlog-"));
  const token = `backlog-${randomBytes(6).toString("hex")}`;
  const schema = `t_backlog_${randomBytes(5).toString("hex")}`;
  const dist = compileBridge(dir);
  const vendor = await startVendorProcess(dist, LIMIT);
  const config = {
    server: { port: 0 },
    store: kind === "sqlite" ? { kind, path: join(dir, "bridge.db") } : { kind, url: POSTGRES_URL, schema, poolSize: 8 },
    log: { level: "error" },
    metrics: { enabled: false },
    outbox: { pollMs: 100 },
    targets: [{ name: "t", tokens: [{ sha256: hashToken(token) }], vendor: cicVendor(vendor.url, { rateLimit: { perSecond: LIMIT }, answerWithinMs: 0 }) }],
  };
  const bridges = [await startBridgeProcess(dist, join(dir, "a.json"), config)];
  if (kind === "postgres") bridges.push(await startBridgeProcess(dist, join(dir, "b.json"), config));
  const store: Store = kind === "sqlite" ? new SqliteStore(join(dir, "bridge.db"), { scanWorker: false }) : new PostgresStore(POSTGRES_URL, { schema });
  const base = (i: number) => bridges[i % bridges.length]!.base;
  const pending = async () => (await store.listWork({ state: "pending", limit: 100_000 })).length;
  try {
    const names = DEACTIVATE_AT_MS.map((_, i) => `leaver-${i}@example.com`);
    const leavers = await inPool(names, 5, (name, i) => scim(base(i), token, "POST", "/Users", user(name)));
    expect(leavers.map((r) => r.status)).toEqual(names.map(() => 201));
    await eventually(async () => (await pending()) === 0, 30_000, 100);
    const keyOf = new Map((await vendor.users()).map((u) => [u.name, u.id]));

    const startedAt = Date.now();
    let sent = 0;
    const push = inPool(Array.from({ length: 16 }), 16, async (_, k) => {
      for (;;) {
        const due = startedAt + (sent * 1000) / PUSH_PER_SECOND;
        if (due >= startedAt + PUSH_MS || Date.now() >= startedAt + PUSH_MS) return;
        sent++;
        await new Promise((r) => setTimeout(r, due - Date.now()));
        expect((await scim(base(k), token, "POST", "/Users", user(`joiner-${k}-${sent}@example.com`))).status).toBe(201);
      }
    });
    const sentAt = await inPool(leavers, leavers.length, async (leaver, i) => {
      await new Promise((r) => setTimeout(r, startedAt + DEACTIVATE_AT_MS[i]! - Date.now()));
      const at = Date.now();
      expect((await scim(base(i), token, "PATCH", `/Users/${String(leaver.body.id)}`, patchOp({ op: "replace", path: "active", value: false }))).status).toBe(
        200,
      );
      return at;
    });
    await push;
    const backlogSeconds = (await pending()) / LIMIT;
    const keys = names.map((name) => keyOf.get(name)!);
    const arrivals = await eventually(
      async () => {
        const calls = await vendor.calls();
        const at = keys.map((key) => calls.find((c) => c.action === "UpdateUserStatus" && c.answer === "ok" && c.params.UserId === key)?.receivedAt);
        return at.every((t) => t !== undefined) && (at as number[]);
      },
      90_000,
      250,
    );
    return { toVendor: arrivals.map((t, i) => t - sentAt[i]!), backlogSeconds };
  } finally {
    // What is left of the backlog is of no interest: no clean shutdown waits for its runs.
    for (const bridge of bridges) await stopChild(bridge.child, "SIGKILL");
    await stopChild(vendor.child);
    if (store instanceof PostgresStore) await store.dropSchema();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The test, for one store: one bridge process on SQLite, or two sharing one PostgreSQL database. */
export function itOvertakesTheBacklog(kind: "sqlite" | "postgres"): void {
  const deployment = kind === "sqlite" ? "SQLite, one replica" : "PostgreSQL, two replicas";
  it(`${deployment}: with minutes of creates queued and more coming, each deactivation reaches the vendor within seconds`, async () => {
    const result = await deactivationsBehindBacklog(kind);
    // The backlog is real: far longer than the bound, at the vendor's limit.
    expect(result.backlogSeconds).toBeGreaterThan(100);
    expect(Math.max(...result.toVendor)).toBeLessThan(BOUND_MS);
  }, 110_000);
}

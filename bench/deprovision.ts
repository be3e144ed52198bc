/**
 * How long a leaver keeps access: the time from the IdP's deactivation to its arrival at the vendor (the
 * vendor's own record of when the call came), against the Tencent CIC sandbox in a process of its own,
 * limited to 20 calls a second, with the bridge's production settings. Each case runs on SQLite (one bridge
 * process) and on PostgreSQL (two bridge processes sharing one database, the IdP's requests split between them):
 *
 * - outage: the vendor answers every call with its server error for 3 minutes; meanwhile an IdP that never
 *   retries deactivates 200 users and creates 200 (spread over the outage). Reported: time to the vendor
 *   from each deactivation, and from the vendor's recovery; the longest gap between deprovisioning calls
 *   while it was down.
 * - backlog: the IdP's first cycle queues 10,000 creates and updates (9,000 new users, 1,000 changed ones),
 *   answered once recorded (`answerWithinMs: 0`), and deactivates 100 other users one at a time, spread over
 *   the time the backlog takes to drain at the vendor's limit.
 *
 * Usage: npm run bench:deprovision [-- --cases outage,backlog --stores sqlite,postgres --limit 20
 *   --outage-s 180 --leavers 200 --backlog 10000 --samples 100]
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { hashToken } from "../src/http/auth";
import type { RecordedCall } from "../src/sandbox/sandbox";
import { PostgresStore } from "../src/store/postgres";
import { SqliteStore } from "../src/store/sqlite";
import type { Store } from "../src/store/types";
import { cicVendor, inPool, scimRequest, startBridgeProcess, startVendorProcess, stopChild, type VendorProcess } from "./processes";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "outage,backlog" },
    stores: { type: "string", default: "sqlite,postgres" },
    limit: { type: "string", default: "20" },
    "outage-s": { type: "string", default: "180" },
    leavers: { type: "string", default: "200" },
    backlog: { type: "string", default: "10000" },
    samples: { type: "string", default: "100" },
  },
});
const LIMIT = Number(values.limit);
const OUTAGE_MS = Number(values["outage-s"]) * 1000;
const LEAVERS = Number(values.leavers);
const BACKLOG = Number(values.backlog);
const SAMPLES = Number(values.samples);
const POSTGRES_URL = process.env.SCIM_BRIDGE_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/postgres";
const DIST = resolve(__dirname, "..");
const TOKEN = `bench-${randomBytes(8).toString("hex")}`;
const SECRETS = { BENCH_CIC_ID: "AKID-bench", BENCH_CIC_KEY: "bench-secret-key" };
/** The most the vendor takes in a second: the slots are spaced 8 % wider than 1/rate. */
const DRAIN_PER_SECOND = LIMIT / 1.08;

type StoreKind = "sqlite" | "postgres";

interface Deployment {
  vendor: VendorProcess;
  /** Each replica's SCIM base URL; the IdP's requests go round them. */
  bases: string[];
  store: Store;
  drained(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The vendor, and one bridge process on SQLite or two on one PostgreSQL schema, with `vendor` settings on the target. */
async function deploy(kind: StoreKind, vendorSettings: Record<string, unknown>): Promise<Deployment> {
  const dir = mkdtempSync(join(tmpdir(), "scim-bridge-bench-"));
  const schema = `bench_${randomBytes(5).toString("hex")}`;
  const vendor = await startVendorProcess(DIST, { id: SECRETS.BENCH_CIC_ID, key: SECRETS.BENCH_CIC_KEY }, LIMIT);
  const storeConfig = kind === "sqlite" ? { kind, path: join(dir, "bridge.db") } : { kind, url: POSTGRES_URL, schema, poolSize: 8 };
  const credentials = { secretId: "BENCH_CIC_ID", secretKey: "BENCH_CIC_KEY" };
  const config = {
    server: { port: 0 },
    store: storeConfig,
    log: { level: "error" },
    metrics: { enabled: false },
    targets: [
      { name: "t", tokens: [{ sha256: hashToken(TOKEN) }], vendor: cicVendor(vendor.url, credentials, { rateLimit: { perSecond: LIMIT }, ...vendorSettings }) },
    ],
  };
  const bridges: { child: ChildProcess; base: string }[] = [];
  for (let i = 0; i < (kind === "sqlite" ? 1 : 2); i++) bridges.push(await startBridgeProcess(DIST, join(dir, "bridge.json"), config, { env: SECRETS }));
  const store = kind === "sqlite" ? new SqliteStore(join(dir, "bridge.db"), { scanWorker: false }) : new PostgresStore(POSTGRES_URL, { schema });
  return {
    vendor,
    bases: bridges.map((b) => b.base),
    store,
    async drained(timeoutMs) {
      const until = Date.now() + timeoutMs;
      while ((await store.listWork({ state: "pending", limit: 1 })).length > 0) {
        if (Date.now() > until) throw new Error("the outbox did not drain in time");
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async close() {
      for (const bridge of bridges) await stopChild(bridge.child);
      await stopChild(vendor.child);
      if (store instanceof PostgresStore) await store.dropSchema();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const newUser = (userName: string) => ({
  schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
  userName,
  name: { givenName: "Bench", familyName: "User" },
  emails: [{ value: userName, primary: true }],
});
const patchOf = (path: string, value: unknown) => ({
  schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  Operations: [{ op: "replace", path, value }],
});
const deactivation = patchOf("active", false);

/** Creates `names` through the bridge and waits until the vendor has them; answers their SCIM and vendor ids. */
async function seed(d: Deployment, names: string[]): Promise<{ name: string; id: string; key: string }[]> {
  const created = await inPool(names, 16, (name, i) => scimRequest(d.bases[i % d.bases.length]!, TOKEN, "POST", "/Users", newUser(name)));
  if (created.some((r) => r.status !== 201)) throw new Error(`seeding: ${created.filter((r) => r.status !== 201).length} creates were not answered 201`);
  await d.drained((names.length / DRAIN_PER_SECOND) * 1000 + 60_000);
  const keys = new Map((await d.vendor.users()).map((u) => [u.name, u.id]));
  return names.map((name, i) => ({ name, id: String(created[i]!.body.id), key: keys.get(name)! }));
}

/** When each user's deactivation reached the vendor and was taken (the vendor's clock); Infinity if never. */
function disabledAt(calls: RecordedCall[], keys: string[]): number[] {
  const first = new Map<string, number>();
  for (const c of calls)
    if (c.action === "UpdateUserStatus" && c.params.NewUserStatus === "Disabled" && c.answer === "ok" && !first.has(String(c.params.UserId)))
      first.set(String(c.params.UserId), c.receivedAt);
  return keys.map((k) => first.get(k) ?? Infinity);
}

/** The nearest-rank percentile of `values`, in seconds. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! / 1000;
}

const deploymentOf = (kind: StoreKind) => (kind === "sqlite" ? "SQLite, 1 replica" : "PostgreSQL, 2 replicas");
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const at = (ms: number) => `${seconds(ms)} s`;
const summary = (ms: number[]) => `${at(percentile(ms, 50) * 1000)} | ${at(percentile(ms, 99) * 1000)} | ${at(Math.max(...ms))}`;

async function outage(kind: StoreKind): Promise<string> {
  const d = await deploy(kind, {});
  try {
    const leavers = await seed(
      d,
      Array.from({ length: LEAVERS }, (_, i) => `leaver-${i}@example.com`),
    );
    await d.vendor.outage(true);
    const downAt = Date.now();
    // One deactivation and one create at a time, spread over the outage (its last 10 s kept quiet), each sent once.
    const spacing = Math.max(0, OUTAGE_MS - 10_000) / LEAVERS;
    const sentAt = await inPool(leavers, LEAVERS, async (leaver, i) => {
      await new Promise((r) => setTimeout(r, downAt + i * spacing - Date.now()));
      const base = d.bases[i % d.bases.length]!;
      const sent = Date.now();
      const [off, on] = await Promise.all([
        scimRequest(base, TOKEN, "PATCH", `/Users/${leaver.id}`, deactivation),
        scimRequest(base, TOKEN, "POST", "/Users", newUser(`joiner-${i}@example.com`)),
      ]);
      if (off.status !== 200 || on.status !== 201) throw new Error(`the IdP was answered ${off.status} and ${on.status}`);
      return sent;
    });
    await new Promise((r) => setTimeout(r, downAt + OUTAGE_MS - Date.now()));
    await d.vendor.outage(false);
    const upAt = Date.now();
    await d.drained(600_000);
    const calls = await d.vendor.calls();
    const landed = disabledAt(
      calls,
      leavers.map((l) => l.key),
    );
    const probes = calls.filter((c) => c.action === "UpdateUserStatus" && c.receivedAt > sentAt[0]! && c.receivedAt < upAt).map((c) => c.receivedAt);
    const marks = [sentAt[0]!, ...probes, upAt];
    const longestGap = Math.max(...marks.slice(1).map((m, i) => m - marks[i]!));
    const stats = await d.vendor.stats();
    return `| ${deploymentOf(kind)} | ${summary(landed.map((t, i) => t - sentAt[i]!))} | ${summary(landed.map((t) => t - upAt))} | ${at(longestGap)} | ${stats.throttled} |`;
  } finally {
    await d.close();
  }
}

async function backlog(kind: StoreKind): Promise<string> {
  const d = await deploy(kind, { answerWithinMs: 0 });
  try {
    const changed = Math.round(BACKLOG / 10);
    const seeded = await seed(d, [
      ...Array.from({ length: SAMPLES }, (_, i) => `leaver-${i}@example.com`),
      ...Array.from({ length: changed }, (_, i) => `mover-${i}@example.com`),
    ]);
    const leavers = seeded.slice(0, SAMPLES);
    const movers = seeded.slice(SAMPLES);
    const work = [
      ...Array.from({ length: BACKLOG - changed }, (_, i) => ({ method: "POST", path: "/Users", body: newUser(`joiner-${i}@example.com`) as unknown })),
      ...movers.map((m) => ({ method: "PATCH", path: `/Users/${m.id}`, body: patchOf("displayName", `Moved ${m.name}`) as unknown })),
    ];
    const startedAt = Date.now();
    let pushSeconds = 0;
    const pushed = inPool(work, 32, (w, i) => scimRequest(d.bases[i % d.bases.length]!, TOKEN, w.method, w.path, w.body)).finally(
      () => (pushSeconds = (Date.now() - startedAt) / 1000),
    );
    // A leaver every few seconds, from the first request of the cycle to the time its backlog takes to drain.
    const spacing = (BACKLOG / DRAIN_PER_SECOND) * (1000 / SAMPLES);
    const sentAt = await inPool(leavers, SAMPLES, async (leaver, i) => {
      await new Promise((r) => setTimeout(r, startedAt + i * spacing - Date.now()));
      const sent = Date.now();
      const res = await scimRequest(d.bases[i % d.bases.length]!, TOKEN, "PATCH", `/Users/${leaver.id}`, deactivation);
      if (res.status !== 200) throw new Error(`a deactivation was answered ${res.status}`);
      return sent;
    });
    const statuses = await pushed;
    if (statuses.some((r) => r.status < 200 || r.status > 201)) throw new Error("the IdP's cycle was not all accepted");
    await d.drained(((BACKLOG / DRAIN_PER_SECOND) * 1000) / 2 + 600_000);
    const drainSeconds = (Date.now() - startedAt) / 1000;
    const landed = disabledAt(
      await d.vendor.calls(),
      leavers.map((l) => l.key),
    );
    const stats = await d.vendor.stats();
    return `| ${deploymentOf(kind)} | ${summary(landed.map((t, i) => t - sentAt[i]!))} | ${pushSeconds.toFixed(0)} s | ${drainSeconds.toFixed(0)} s | ${stats.maxCallsInAnySecond} | ${stats.throttled} |`;
  } finally {
    await d.close();
  }
}

async function main(): Promise<void> {
  const cases = values.cases!.split(",");
  const stores = values.stores!.split(",") as StoreKind[];
  console.log(`Tencent CIC sandbox limited to ${LIMIT} calls/s (the bridge set to the same); the bridge's default circuit and retry settings`);
  if (cases.includes("outage")) {
    console.log(`\nOutage of ${seconds(OUTAGE_MS)} s; ${LEAVERS} deactivations and ${LEAVERS} creates spread over it, each sent once:`);
    console.log(
      "| deployment | to the vendor p50 | p99 | max | after its recovery p50 | p99 | max | longest gap between deprovisioning calls while down | throttled |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const kind of stores) console.log(await outage(kind));
  }
  if (cases.includes("backlog")) {
    console.log(`\nBacklog of ${BACKLOG} creates and updates; ${SAMPLES} deactivations spread over its drain, each sent once:`);
    console.log("| deployment | to the vendor p50 | p99 | max | backlog queued in | drained in | most calls in any 1 s | throttled |");
    console.log("|---|---|---|---|---|---|---|---|");
    for (const kind of stores) console.log(await backlog(kind));
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

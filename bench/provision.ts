/**
 * Provisioning throughput against a vendor's rate limit: 2,000 users pushed to bridges on one PostgreSQL
 * database, through the Tencent CIC sandbox limited to 20 calls a second (in a process of its own), with
 * one and with two bridge processes. The limit alone allows no faster than 100 s; the report is the time
 * from the first request until the vendor holds every user, and its ratio to those 100 s.
 *
 * Usage: npm run bench:provision [-- --users 2000 --limit 20 --replicas 1,2]
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { hashToken } from "../src/http/auth";
import { PostgresStore } from "../src/store/postgres";
import { cicVendor, startBridgeProcess, startVendorProcess, stopChild } from "./processes";

const { values } = parseArgs({
  options: { users: { type: "string", default: "2000" }, limit: { type: "string", default: "20" }, replicas: { type: "string", default: "1,2" } },
});
const USERS = Number(values.users);
const LIMIT = Number(values.limit);
const REPLICAS = values.replicas!.split(",").map(Number);
const POSTGRES_URL = process.env.SCIM_BRIDGE_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/postgres";
const DIST = resolve(__dirname, "..");
const TOKEN = `bench-${randomBytes(8).toString("hex")}`;
const SECRETS = { BENCH_CIC_ID: "AKID-bench", BENCH_CIC_KEY: "bench-secret-key" };

async function round(replicas: number): Promise<{ seconds: number; maxInAnySecond: number; throttled: number; atVendor: number }> {
  const dir = mkdtempSync(join(tmpdir(), "scim-bridge-bench-"));
  const schema = `bench_${randomBytes(5).toString("hex")}`;
  const vendor = await startVendorProcess(DIST, { id: SECRETS.BENCH_CIC_ID, key: SECRETS.BENCH_CIC_KEY }, LIMIT);
  const config = {
    server: { port: 0 },
    store: { kind: "postgres", url: POSTGRES_URL, schema, poolSize: 8 },
    log: { level: "error" },
    metrics: { enabled: false },
    targets: [
      {
        name: "t",
        tokens: [{ sha256: hashToken(TOKEN) }],
        vendor: cicVendor(vendor.url, { secretId: "BENCH_CIC_ID", secretKey: "BENCH_CIC_KEY" }, { rateLimit: { perSecond: LIMIT } }),
      },
    ],
  };
  const store = new PostgresStore(POSTGRES_URL, { schema });
  await store.migrate();
  const bridges: ChildProcess[] = [];
  try {
    const bases: string[] = [];
    for (let i = 0; i < replicas; i++) {
      const bridge = await startBridgeProcess(DIST, join(dir, "bridge.json"), config, { env: SECRETS });
      bridges.push(bridge.child);
      bases.push(bridge.base);
    }
    const names = Array.from({ length: USERS }, (_, i) => `bench-${i}@example.com`);
    const started = performance.now();
    let next = 0;
    // 16 IdP connections in all, spread over the replicas (a load balancer); each change is sent once.
    await Promise.all(
      Array.from({ length: 16 }, async (_, k) => {
        while (next < names.length) {
          const userName = names[next++]!;
          await fetch(`${bases[k % bases.length]}/Users`, {
            method: "POST",
            headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/scim+json" },
            body: JSON.stringify({
              schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
              userName,
              name: { givenName: "Bench", familyName: "User" },
              emails: [{ value: userName, primary: true }],
            }),
          });
        }
      }),
    );
    for (;;) {
      const stats = await vendor.stats();
      if (stats.users.length >= USERS && (await store.listWork({ state: "pending", limit: 1 })).length === 0)
        return {
          seconds: (performance.now() - started) / 1000,
          maxInAnySecond: stats.maxCallsInAnySecond,
          throttled: stats.throttled,
          atVendor: stats.users.length,
        };
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const bridge of bridges) await stopChild(bridge);
    await stopChild(vendor.child);
    await store.dropSchema();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const floor = USERS / LIMIT;
  console.log(`${USERS} users, vendor limited to ${LIMIT} calls/s: the limit allows no less than ${floor} s`);
  console.log("| replicas | seconds | of the limit | most calls in any 1 s | throttled | users at the vendor |");
  console.log("|---|---|---|---|---|---|");
  for (const replicas of REPLICAS) {
    const r = await round(replicas);
    console.log(
      `| ${replicas} | ${r.seconds.toFixed(1)} | ${((floor / r.seconds) * 100).toFixed(1)} % | ${r.maxInAnySecond} | ${r.throttled} | ${r.atVendor} |`,
    );
  }
}

void main();

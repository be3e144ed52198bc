/**
 * Benchmarks of the SCIM core on the embedded store (SQLite), server and load generator in one process:
 *   1. GET /Users?filter=userName eq "…" with 1,000 and with 100,000 stored users (index lookups: the two
 *      should be about as fast);
 *   2. one membership PATCH (add, then remove, one member) on a 20,000-member group, answered 204 and 200;
 *   3. POST /Users on a target provisioning into Tencent CIC (the sandbox): mapping, TC3 signing, the HTTP
 *      call, the sandbox's signature check, the vendor link — the whole create path.
 * Usage: npm run bench:vendor [-- --requests 4000 --concurrency 16]
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFrom } from "../src/config/load";
import { hashToken } from "../src/http/auth";
import { createApp } from "../src/http/app";
import { createLogger } from "../src/log";
import { buildProvisioners } from "../src/provisioning/targets";
import { CicSandbox } from "../src/sandbox/tencent-cic";
import { sqliteStores } from "../src/store/open";
import type { Stores } from "../src/store/stores";
import { load, type LoadResult } from "./load";

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const REQUESTS = arg("requests", 4000);
const CONCURRENCY = arg("concurrency", 16);
const TOKEN = "bench-token";
const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";

async function seedUsers(store: Stores, target: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const userName = `user${i}@bench.example.com`;
    const doc = {
      schemas: [CORE_USER],
      userName,
      name: { givenName: "Bench", familyName: `User ${i}` },
      emails: [{ value: userName, primary: true }],
      active: true,
    };
    await store.resources.create(target, "User", `u-${target}-${i}`, doc, { userName, emails: [userName] });
  }
}

const BENCH_ENV = { BENCH_CIC_ID: "AKID-bench", BENCH_CIC_KEY: "bench-secret-key" };

async function serve(
  store: Stores,
  patchResponse: "resource" | "no-content",
  cicUrl: string,
): Promise<{ origin: string; server: Server; close: () => Promise<void> }> {
  const vendor = {
    mapping: "mappings/tencent-cic.yaml",
    credentials: { secretId: "BENCH_CIC_ID", secretKey: "BENCH_CIC_KEY" },
    settings: { CIC_ZONE_ID: "z-bench" },
    connectTo: cicUrl,
    allowInsecureHttp: true,
    rateLimit: { perSecond: 100000 },
  };
  const config = configFrom({
    server: { port: 0 },
    log: { level: "error" },
    targets: [
      ...["t1k", "t100k", "group"].map((name) => ({ name, tokens: [{ sha256: hashToken(`${TOKEN}-${name}`) }], patchResponse })),
      { name: `cic-${patchResponse}`, tokens: [{ sha256: hashToken(`${TOKEN}-cic-${patchResponse}`) }], vendor },
    ],
  });
  const log = createLogger("error");
  const built = buildProvisioners(config, store, log, BENCH_ENV);
  const app = createApp({ config, stores: store, log, provisioners: built.provisioners });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, close: built.close };
}

function row(name: string, r: LoadResult): string {
  const ok = Object.entries(r.statuses)
    .map(([s, n]) => `${s}×${n}`)
    .join(" ");
  return `| ${name} | ${r.requests} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${ok} |`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "scim-bridge-bench-"));
  const store = sqliteStores(join(dir, "bench.db"));
  await store.admin.migrate();
  let t = performance.now();
  await seedUsers(store, "t1k", 1_000);
  await seedUsers(store, "t100k", 100_000);
  const group = "g-20k";
  await store.resources.create(
    "group",
    "Group",
    group,
    { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Twenty thousand" },
    { displayName: "Twenty thousand" },
  );
  await store.members.add(
    "group",
    group,
    Array.from({ length: 20_000 }, (_, i) => ({ value: `member-${i}` })),
  );
  console.log(`seeded 101,000 users and a 20,000-member group in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const cic = new CicSandbox({ secretId: BENCH_ENV.BENCH_CIC_ID, secretKey: BENCH_ENV.BENCH_CIC_KEY }, "z-bench");
  const cicUrl = await cic.listen();
  const rows: string[] = [];
  for (const mode of ["no-content", "resource"] as const) {
    const { origin, server, close } = await serve(store, mode, cicUrl);
    if (mode === "no-content") {
      for (const [target, n] of [
        ["t1k", 1_000],
        ["t100k", 100_000],
      ] as const) {
        // warm-up, then measure: a different user every request, spread over the whole table
        await load(origin, `${TOKEN}-${target}`, 200, CONCURRENCY, (i) => ({
          method: "GET",
          path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "user${(i * 7919) % n}@bench.example.com"`)}`,
        }));
        const r = await load(origin, `${TOKEN}-${target}`, REQUESTS, CONCURRENCY, (i) => ({
          method: "GET",
          path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "user${(i * 7919) % n}@bench.example.com"`)}`,
        }));
        rows.push(row(`GET filter userName eq, ${n.toLocaleString("en")} users`, r));
      }
    }
    const patch = (i: number) => ({
      method: "PATCH" as const,
      path: `/scim/v2/Groups/${group}${mode === "resource" ? "?excludedAttributes=members" : ""}`,
      body: JSON.stringify({
        schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        Operations: [
          i % 2 === 0 ? { op: "add", path: "members", value: [{ value: `extra-${i >> 1}` }] } : { op: "remove", path: `members[value eq "extra-${i >> 1}"]` },
        ],
      }),
    });
    t = performance.now();
    const count = Math.min(REQUESTS, 2000);
    const r = await load(origin, `${TOKEN}-group`, count, CONCURRENCY, patch);
    rows.push(row(`PATCH membership, 20,000-member group, answered ${mode === "resource" ? "200 (excludedAttributes=members)" : "204"}`, r));
    if (mode === "resource") {
      const full = await load(origin, `${TOKEN}-group`, 40, 4, (i) => ({ ...patch(i), path: `/scim/v2/Groups/${group}` }));
      rows.push(row("PATCH membership, 20,000-member group, answered 200 with all members", full));
    }
    if (mode === "no-content") {
      const creates = Math.min(REQUESTS, 2000);
      const r = await load(origin, `${TOKEN}-cic-${mode}`, creates, CONCURRENCY, (i) => ({
        method: "POST",
        path: "/scim/v2/Users",
        body: JSON.stringify({
          schemas: [CORE_USER],
          userName: `vendor${i}@bench.example.com`,
          name: { givenName: "V", familyName: `User ${i}` },
          emails: [{ value: `vendor${i}@bench.example.com`, primary: true }],
        }),
      }));
      rows.push(row("POST /Users → Tencent CIC CreateUser (sandbox, TC3 signed and verified)", r));
    }
    await close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await cic.close();
  console.log(`\nconcurrency ${CONCURRENCY}, Node ${process.version}, store SQLite (WAL)\n`);
  console.log("| scenario | requests | req/s | p50 ms | p99 ms | statuses |");
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
  await store.admin.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * The bridge beside a bare express 5 handler, in the same rounds: each bridge row runs in rounds, each after
 * a round of the bare handler's GET, and is reported as a share of the bare rate of its own rounds. Rows: GET by id, GET
 * `userName eq`, a list page of 100 at the start and at the end of the target, POST, PUT, PATCH, DELETE, and
 * GET by id while four filters no index answers run; the peak RSS of the process (server and load generator).
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import express from "express";
import { configFrom } from "../src/config/load";
import { hashToken } from "../src/http/auth";
import { createApp } from "../src/http/app";
import { createLogger } from "../src/log";
import { postgresStores, sqliteStores } from "../src/store/open";
import type { Stores } from "../src/store/stores";
import { dropSchema } from "./postgres";
import { load, merged, type LoadResult, type RequestSpec } from "./load";
import { CORE_USER, seededId, seededName, seedPostgres, seedSqlite } from "./seed";

export interface SpeedOptions {
  sqliteSizes: number[];
  postgres?: { url: string; sizes: number[] };
  requests: number;
  listRequests: number;
  concurrency: number;
}

export interface SpeedRow {
  store: string;
  users: number;
  scenario: string;
  result: LoadResult;
  share?: number;
  note?: string;
}

const TOKEN = "bench-token";
/** Rounds per row, and the bare handler's requests before each. */
const ROUNDS = 4;
const BARE_ROUND = 250;
const NON_INDEXED = ['title eq "Architect"', 'name.familyName co "nobody"', 'displayName ew "nobody"', 'name.givenName eq "Nobody"'];

function progress(row: SpeedRow): void {
  console.log(
    `  ${row.store} ${row.users}: ${row.scenario}: ${row.result.rps.toFixed(0)} req/s, p99 ${row.result.p99.toFixed(1)} ms${row.note ? `, ${row.note}` : ""}`,
  );
}

async function listen(app: express.Express): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The reference: express 5 answering a small SCIM user from memory. */
function bareApp(): express.Express {
  const app = express();
  app.use(express.json({ type: ["application/json", "application/scim+json"] }));
  app.get("/scim/v2/Users/:id", (req, res) => {
    res
      .type("application/scim+json")
      .json({ schemas: [CORE_USER], id: req.params.id, userName: `${req.params.id}@bench.example.com`, active: true, meta: { resourceType: "User" } });
  });
  return app;
}

function bridgeApp(store: Stores, targets: string[]): express.Express {
  const config = configFrom({
    server: { port: 0, maxResults: 1000 },
    log: { level: "error" },
    targets: targets.map((name) => ({ name, tokens: [{ sha256: hashToken(`${TOKEN}-${name}`) }], patchResponse: "resource" })),
  });
  return createApp({ config, stores: store, log: createLogger("error") });
}

/** The highest RSS seen while `work` runs, sampled every 50 ms. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    const value = await work();
    return { value, peakMb: Math.max(peak, process.memoryUsage().rss) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

const user = (userName: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    schemas: [CORE_USER],
    userName,
    name: { givenName: "New", familyName: "User" },
    emails: [{ value: userName, type: "work", primary: true }],
    active: true,
    ...extra,
  });

/** Every row of one store and size, and the bare handler's rounds among them as one row. */
async function measureTarget(storeLabel: string, n: number, bare: string, origin: string, target: string, options: SpeedOptions): Promise<SpeedRow[]> {
  const token = `${TOKEN}-${target}`;
  const { requests, listRequests, concurrency } = options;
  const rows: SpeedRow[] = [];
  const spread = (i: number) => (i * 7919) % n;
  const bareGet = (i: number): RequestSpec => ({ method: "GET", path: `/scim/v2/Users/${seededId(spread(i))}` });
  const bareRounds: LoadResult[] = [];
  /**
   * A row in ROUNDS rounds, each after a round of the bare handler: the load of the shared machine drifts,
   * and the share compares the two under the same load.
   */
  const run = async (scenario: string, total: number, next: (i: number) => RequestSpec, onAnswer?: (status: number, body: string) => void, warmUp = true) => {
    // warm-up on indices past the measured ones (a create must not meet its own name again)
    if (warmUp) await load(origin, token, Math.min(100, total), concurrency, (i) => next(total + i));
    const bridgeParts: LoadResult[] = [];
    const bareParts: LoadResult[] = [];
    for (let round = 0, done = 0; round < ROUNDS; round++) {
      bareParts.push(await load(bare, token, BARE_ROUND, concurrency, bareGet));
      const part = Math.round(((round + 1) * total) / ROUNDS) - done;
      const offset = done;
      bridgeParts.push(await load(origin, token, part, concurrency, (i) => next(offset + i), onAnswer));
      done += part;
    }
    bareRounds.push(...bareParts);
    const result = merged(bridgeParts);
    rows.push({ store: storeLabel, users: n, scenario, result, share: result.rps / merged(bareParts).rps });
    progress(rows[rows.length - 1]!);
  };
  await load(bare, token, 200, concurrency, bareGet); // warm-up
  await run("GET /Users/{id}", requests, (i) => ({ method: "GET", path: `/scim/v2/Users/${seededId(spread(i))}` }));
  await run('GET /Users?filter=userName eq "…"', requests, (i) => ({
    method: "GET",
    path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${seededName(spread(i))}"`)}`,
  }));
  await run("GET /Users?startIndex=1&count=100", listRequests, () => ({ method: "GET", path: "/scim/v2/Users?startIndex=1&count=100" }));
  await run(`GET /Users?startIndex=${n - 99}&count=100`, listRequests, () => ({ method: "GET", path: `/scim/v2/Users?startIndex=${n - 99}&count=100` }));

  const writes = Math.min(requests, 1000);
  const run_ = randomBytes(3).toString("hex");
  const created: string[] = [];
  await run(
    "POST /Users",
    writes,
    (i) => ({ method: "POST", path: "/scim/v2/Users", body: user(`new-${run_}-${i}@bench.example.com`) }),
    (status, body) => {
      if (status === 201) created.push((JSON.parse(body) as { id: string }).id);
    },
  );
  await run("PUT /Users/{id}", writes, (i) => ({
    method: "PUT",
    path: `/scim/v2/Users/${seededId(spread(i))}`,
    body: user(seededName(spread(i)), { title: `Engineer ${i}` }),
  }));
  await run("PATCH /Users/{id} (replace displayName)", writes, (i) => ({
    method: "PATCH",
    path: `/scim/v2/Users/${seededId(spread(i))}`,
    body: JSON.stringify({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", path: "displayName", value: `Renamed ${i}` }],
    }),
  }));
  const toDelete = created.splice(0);
  await run("DELETE /Users/{id}", toDelete.length, (i) => ({ method: "DELETE", path: `/scim/v2/Users/${toDelete[i]}` }), undefined, false);

  // GET by id at a quarter of the concurrency, for as long as four non-indexed filters (sent at once) run.
  const filters: { status: number; ms: number }[] = [];
  let running = NON_INDEXED.length;
  const filterOnce = async (f: string) => {
    const t0 = performance.now();
    const r = await load(origin, token, 1, 1, () => ({ method: "GET", path: `/scim/v2/Users?count=100&filter=${encodeURIComponent(f)}` }));
    filters.push({ status: Number(Object.keys(r.statuses)[0]), ms: performance.now() - t0 });
    running--;
  };
  const sent = NON_INDEXED.map(filterOnce);
  const during = await load(
    origin,
    token,
    0,
    Math.max(1, concurrency / 4),
    (i) => ({ method: "GET", path: `/scim/v2/Users/${seededId(spread(i))}` }),
    undefined,
    () => running === 0,
  );
  await Promise.all(sent);
  const statuses = filters.reduce<Record<string, number>>((acc, f) => ({ ...acc, [f.status]: (acc[f.status] ?? 0) + 1 }), {});
  const slowest = Math.max(...filters.map((f) => f.ms));
  rows.push({
    store: storeLabel,
    users: n,
    scenario: "GET /Users/{id} while 4 non-indexed filters run",
    result: during,
    note: `filters: ${Object.entries(statuses)
      .map(([s, c]) => `${s}×${c}`)
      .join(" ")}, slowest ${(slowest / 1000).toFixed(2)} s`,
  });
  progress(rows[rows.length - 1]!);
  const reference: SpeedRow = {
    store: storeLabel,
    users: n,
    scenario: `bare express 5: GET /Users/{id} (${ROUNDS} rounds before each row)`,
    result: merged(bareRounds),
  };
  return [reference, ...rows];
}

export async function runSpeed(options: SpeedOptions): Promise<{ rows: SpeedRow[]; peaks: { store: string; users: number; peakMb: number }[] }> {
  const rows: SpeedRow[] = [];
  const peaks: { store: string; users: number; peakMb: number }[] = [];
  const bare = await listen(bareApp());
  try {
    const dir = mkdtempSync(join(tmpdir(), "scim-bridge-bench-"));
    try {
      for (const n of options.sqliteSizes) {
        const path = join(dir, `bench-${n}.db`);
        const store = sqliteStores(path);
        await store.admin.migrate();
        const t = performance.now();
        seedSqlite(path, "t", n);
        console.log(`sqlite: seeded ${n.toLocaleString("en")} users in ${((performance.now() - t) / 1000).toFixed(1)} s`);
        const bridge = await listen(bridgeApp(store, ["t"]));
        const { value, peakMb } = await peakRss(() => measureTarget("SQLite", n, bare.origin, bridge.origin, "t", options));
        rows.push(...value);
        peaks.push({ store: "SQLite", users: n, peakMb });
        await bridge.close();
        await store.admin.close();
        rmSync(path, { force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const n of options.postgres?.sizes ?? []) {
      const url = options.postgres!.url;
      const schema = `bench_${randomBytes(4).toString("hex")}`;
      const store = postgresStores(url, { schema, poolSize: 10 });
      await store.admin.migrate();
      try {
        const t = performance.now();
        await seedPostgres(url, schema, "t", n);
        console.log(`postgres: seeded ${n.toLocaleString("en")} users in ${((performance.now() - t) / 1000).toFixed(1)} s`);
        const bridge = await listen(bridgeApp(store, ["t"]));
        const { value, peakMb } = await peakRss(() => measureTarget("PostgreSQL", n, bare.origin, bridge.origin, "t", options));
        rows.push(...value);
        peaks.push({ store: "PostgreSQL", users: n, peakMb });
        await bridge.close();
      } finally {
        await store.admin.close();
        await dropSchema(url, schema);
      }
    }
  } finally {
    await bare.close();
  }
  return { rows, peaks };
}

export function speedTable(rows: SpeedRow[]): string {
  const lines = ["| store | users | scenario | req/s | of bare express | p50 ms | p99 ms | statuses |", "|---|---|---|---|---|---|---|---|"];
  for (const { store, users, scenario, result, share, note } of rows) {
    const statuses = Object.entries(result.statuses)
      .map(([s, c]) => `${s}×${c}`)
      .join(" ");
    lines.push(
      `| ${store} | ${users.toLocaleString("en")} | ${scenario} | ${result.rps.toFixed(0)} | ${share === undefined ? "—" : `${(share * 100).toFixed(0)} %`} | ${result.p50.toFixed(1)} | ${result.p99.toFixed(1)} | ${statuses}${note ? `; ${note}` : ""} |`,
    );
  }
  return lines.join("\n");
}

/** Which of the targets each store and size meets. */
export function targetVerdicts(rows: SpeedRow[], peaks: { store: string; users: number; peakMb: number }[]): string[] {
  const out: string[] = [];
  const groups = new Map<string, SpeedRow[]>();
  for (const r of rows) groups.set(`${r.store} ${r.users}`, [...(groups.get(`${r.store} ${r.users}`) ?? []), r]);
  for (const [key, group] of groups) {
    const find = (prefix: string) => group.find((r) => r.scenario.startsWith(prefix));
    const check = (what: string, ok: boolean, detail: string) => out.push(`${ok ? "met    " : "NOT met"} ${key} users: ${what} (${detail})`);
    const share = (r?: SpeedRow) => r?.share ?? 0;
    const pct = (r?: SpeedRow) => `${(share(r) * 100).toFixed(0)} %`;
    for (const s of ["GET /Users/{id}", "GET /Users?filter"]) check(`${s} ≥ 50 % of bare`, share(find(s)) >= 0.5, pct(find(s)));
    for (const s of ["POST", "PUT", "PATCH", "DELETE"]) check(`${s} ≥ 30 % of bare`, share(find(s)) >= 0.3, pct(find(s)));
    const first = find("GET /Users?startIndex=1&");
    const last = group.find((r) => r.scenario.startsWith("GET /Users?startIndex=") && r !== first);
    if (first && last)
      check(
        "last page no slower than the first",
        last.result.rps >= first.result.rps * 0.9,
        `${last.result.rps.toFixed(0)} vs ${first.result.rps.toFixed(0)} pages/s`,
      );
    const during = find("GET /Users/{id} while");
    if (during) check("GET by id p99 < 50 ms during non-indexed filters", during.result.p99 < 50, `${during.result.p99.toFixed(1)} ms`);
  }
  for (const p of peaks) out.push(`${p.peakMb < 250 ? "met    " : "NOT met"} ${p.store} ${p.users} users: peak RSS < 250 MB (${p.peakMb.toFixed(0)} MB)`);
  return out;
}

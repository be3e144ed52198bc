/**
 * Real bridge processes on PostgreSQL, against sandbox vendors: killed with SIGKILL in the middle of creates
 * and deactivations (after a restart, and no IdP retries, every accepted change is at the vendor exactly
 * once), and run side by side against a vendor in a process of its own, which counts the calls it receives
 * in every one-second window.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfigFile } from "../src/config/load";
import { hashToken } from "../src/http/auth";
import { createLogger } from "../src/log";
import { reconcile } from "../src/provisioning/reconcile";
import { buildProvisioners } from "../src/provisioning/targets";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { postgresStores } from "../src/store/open";
import type { Stores } from "../src/store/stores";
import { eventually, outboxDrained, user } from "./helpers/bridge";
import { dropSchema, POSTGRES_URL } from "./helpers/stores";
import { ENV, VENDORS } from "./helpers/vendors";

const REPO = resolve(__dirname, "..");
const TOKEN = `kill-${randomBytes(8).toString("hex")}`;
const PEOPLE = Array.from({ length: 60 }, (_, i) => `person${i}@example.com`);
/** The vendor's limit, and the bridges' setting, in the two-process push. */
const LIMIT = 50;
/** Fixed kill points (ms after start of load), so a run is repeatable apart from scheduling. */
const KILL_AFTER_MS = [180, 260, 120];

let dir: string;
let sandbox: VendorSandbox;
let configFile: string;
let schema: string;

function writeConfig(file: string, vendor: Record<string, unknown>): void {
  writeFileSync(
    file,
    JSON.stringify({
      server: { port: 0 },
      store: { kind: "postgres", url: POSTGRES_URL, schema, poolSize: 4 },
      log: { level: "error" },
      // A killed process's leases fall back quickly, so the test does not wait a minute for them.
      outbox: { leaseMs: 1500, pollMs: 50 },
      targets: [{ name: "t", tokens: [{ sha256: hashToken(TOKEN) }], vendor }],
    }),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "scim-bridge-kill-"));
  // The bridge under test runs as its own process: compiled once, beside the sources' node_modules.
  execFileSync(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", join(REPO, "tsconfig.build.json"), "--outDir", join(dir, "dist")], {
    cwd: REPO,
  });
  const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
  sandbox = cic.sandbox();
  const vendor = cic.vendor(await sandbox.listen());
  schema = `t_kill_${randomBytes(5).toString("hex")}`;
  configFile = join(dir, "bridge.yaml");
  writeConfig(configFile, { ...vendor, rateLimit: { perSecond: 1000 } });
}, 60_000);

afterAll(async () => {
  await dropSchema(schema);
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startProcess(config = configFile): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [join(dir, "dist/src/cli.js"), "serve", "--config", config], {
    cwd: REPO,
    env: { ...process.env, ...ENV, NODE_PATH: join(REPO, "node_modules") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const base = await new Promise<string>((resolveBase, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /SCIM base URL: (\S+)/.exec(out);
      if (match) resolveBase(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`bridge exited (${code}) before listening: ${out}`)));
  });
  return { child, base };
}

const patch = (base: string, id: string, body: unknown) =>
  fetch(`${base}/Users/${id}`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/scim+json" },
    body: JSON.stringify(body),
  })
    .then((r) => r.status)
    .catch(() => 0);

/** Sends `jobs` with `concurrency` at a time until the process dies; answers each job's HTTP status (0: no answer). */
async function pushUntilKilled<T>(child: ChildProcess, jobs: T[], concurrency: number, send: (job: T) => Promise<number>): Promise<number[]> {
  const statuses: number[] = new Array(jobs.length).fill(-1);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length && child.exitCode === null && child.signalCode === null) {
      const i = next++;
      statuses[i] = await send(jobs[i]!);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

const post = (base: string, userName: string) =>
  fetch(`${base}/Users`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/scim+json" },
    body: JSON.stringify(user(userName)),
  })
    .then((r) => r.status)
    .catch(() => 0);

it("SIGKILL during creates leaves no link without its user, and no duplicate or removed vendor user", async () => {
  let cutOff = 0;
  for (const killAfter of KILL_AFTER_MS) {
    const { child, base } = await startProcess();
    const exited = new Promise((r) => child.once("exit", r));
    // An IdP pushing everyone, 8 at a time, while the process is killed under it.
    let next = 0;
    const worker = async () => {
      while (next < PEOPLE.length && child.exitCode === null && child.signalCode === null) if ((await post(base, PEOPLE[next++]!)) === 0) cutOff++;
    };
    const load = Promise.all(Array.from({ length: 8 }, worker));
    await new Promise((r) => setTimeout(r, killAfter));
    child.kill("SIGKILL");
    await exited;
    await load;
  }
  expect(cutOff).toBeGreaterThan(0); // the kills did land in the middle of requests
  // The IdP retries everyone against a fresh process: each is created, or already there (409).
  const { child, base } = await startProcess();
  const store = postgresStores(POSTGRES_URL, { schema });
  try {
    for (const person of PEOPLE) expect([201, 409]).toContain(await post(base, person));
    // Work the killed processes held falls back once their leases expire, and the new process finishes it.
    await outboxDrained(store.outbox);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }

  try {
    const links = (await store.links.all("t")).filter((l) => !l.deletedAt);
    const users = (await store.resources.list("t", "User", { startIndex: 1, count: 1000 })).resources;
    expect(users.map((u) => u.doc.userName).sort()).toEqual([...PEOPLE].sort());
    for (const link of links) expect(users.some((u) => u.id === link.scimId)).toBe(true);
    for (const u of users) expect(links.some((l) => l.scimId === u.id)).toBe(true);
    const vendorNames = [...sandbox.users.values()].map((v) => v.UserName);
    expect(vendorNames.sort()).toEqual([...PEOPLE].sort());

    const config = loadConfigFile(configFile, { ...process.env, ...ENV });
    const built = buildProvisioners(config, store, createLogger("error"), ENV);
    try {
      await reconcile("t", built.vendorProvisioners.get("t")!, store, { fix: true });
    } finally {
      await built.close();
    }
    for (const link of links) expect(sandbox.users.has(link.vendorKey)).toBe(true);
  } finally {
    await store.admin.close();
  }
}, 90_000);

/** A fresh process, until the outbox is empty (the dead process's leases fall back to it), then SIGTERM. */
async function restartUntilDrained(store: Stores): Promise<void> {
  const process = await startProcess();
  try {
    await outboxDrained(store.outbox, 60_000);
  } finally {
    process.child.kill("SIGTERM");
    await new Promise((r) => process.child.once("exit", r));
  }
}

describe("kill -9, then a restart and no IdP retries at all", () => {
  it("in the middle of 1,000 creates: every user the bridge accepted is at the vendor exactly once, and no vendor user it does not know", async () => {
    const people = Array.from({ length: 1000 }, (_, i) => `k1-${i}@example.com`);
    const first = await startProcess();
    const exited = new Promise((r) => first.child.once("exit", r));
    const load = pushUntilKilled(first.child, people, 16, (name) => post(first.base, name));
    // Killed once a third of the creates are in: the rest of the push never happens.
    const store = postgresStores(POSTGRES_URL, { schema });
    try {
      await eventually(async () => (await store.resources.list("t", "User", { startIndex: 1, count: 0 })).total >= 330, 30_000, 5);
      first.child.kill("SIGKILL");
      await exited;
      const statuses = await load;
      const accepted = people.filter((_, i) => statuses[i] === 201);
      // The kill left work in flight: the restart has to take it over from the dead process's leases.
      expect((await store.outbox.list({ target: "t", state: "pending", limit: 5000 })).length).toBeGreaterThan(0);
      await restartUntilDrained(store);
      const stored = (await store.resources.list("t", "User", { startIndex: 1, count: 5000 })).resources
        .map((u) => String(u.doc.userName))
        .filter((n) => n.startsWith("k1-"));
      // Everyone answered 201 was stored; some more were stored whose answer the kill cut off.
      expect(stored).toEqual(expect.arrayContaining(accepted));
      const atVendor = [...sandbox.users.values()].map((v) => String(v.UserName)).filter((n) => n.startsWith("k1-"));
      expect(atVendor.sort()).toEqual([...stored].sort()); // exactly once each, and none the bridge does not know
      expect(new Set(atVendor).size).toBe(atVendor.length);
      const links = (await store.links.all("t")).filter((l) => l.userName.startsWith("k1-"));
      expect(links).toHaveLength(stored.length);
    } finally {
      await store.admin.close();
    }
  }, 120_000);

  it("in the middle of 200 deactivations: every deactivation the bridge accepted is disabled at the vendor", async () => {
    const people = Array.from({ length: 200 }, (_, i) => `k2-${i}@example.com`);
    const store = postgresStores(POSTGRES_URL, { schema });
    try {
      const setup = await startProcess();
      const ids: string[] = [];
      try {
        for (const name of people) {
          const res = await fetch(`${setup.base}/Users`, {
            method: "POST",
            headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/scim+json" },
            body: JSON.stringify(user(name)),
          });
          ids.push(((await res.json()) as { id: string }).id);
        }
        await outboxDrained(store.outbox);
      } finally {
        setup.child.kill("SIGTERM");
        await new Promise((r) => setup.child.once("exit", r));
      }
      const first = await startProcess();
      const exited = new Promise((r) => first.child.once("exit", r));
      const off = { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] };
      const load = pushUntilKilled(first.child, ids, 16, (id) => patch(first.base, id, off));
      // Killed once 60 deactivations are recorded: the rest of the push never happens.
      const recorded = async () => (await store.resources.list("t", "User", { predicate: (r) => r.doc.active === false, startIndex: 1, count: 1 })).total;
      await eventually(async () => (await recorded()) >= 60, 30_000, 5);
      first.child.kill("SIGKILL");
      await exited;
      await load;
      expect((await store.outbox.list({ target: "t", state: "pending", limit: 5000 })).filter((w) => w.deprovision).length).toBeGreaterThan(0);
      await restartUntilDrained(store);
      const inactive = (await store.resources.list("t", "User", { startIndex: 1, count: 5000 })).resources.filter(
        (u) => String(u.doc.userName).startsWith("k2-") && u.doc.active === false,
      );
      expect(inactive.length).toBeGreaterThan(0);
      const links = await store.links.of(
        "t",
        inactive.map((u) => u.id),
      );
      for (const u of inactive) {
        const vendorUser = sandbox.users.get(links.get(u.id)!.vendorKey);
        expect({ user: u.doc.userName, status: vendorUser?.UserStatus ?? "removed" }).toEqual({
          user: u.doc.userName,
          status: expect.stringMatching(/^(Disabled|removed)$/),
        });
      }
    } finally {
      await store.admin.close();
    }
  }, 120_000);
});

/** The CIC sandbox in a process of its own (its rate accounting on its own event loop), limited to `limit` calls a second. */
async function startVendorProcess(
  limit: number,
): Promise<{ child: ChildProcess; url: string; stats(): Promise<{ throttled: number; maxCallsInAnySecond: number; users: string[] }> }> {
  const child = spawn(process.execPath, [join(dir, "dist/src/sandbox/standalone.js"), "--vendor", "tencent-cic", "--limit", String(limit)], {
    cwd: REPO,
    env: { ...process.env, SANDBOX_SECRET_ID: ENV.TEST_TENCENT_ID, SANDBOX_SECRET_KEY: ENV.TEST_TENCENT_KEY, NODE_PATH: join(REPO, "node_modules") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const { url, control } = await new Promise<{ url: string; control: string }>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!) as { url: string; control: string });
    });
    child.once("exit", (code) => reject(new Error(`sandbox exited (${code}): ${out}`)));
  });
  return { child, url, stats: async () => (await (await fetch(`${control}/stats`)).json()) as never };
}

describe("SIGTERM", () => {
  it("stops intake, leaves work it could not finish in the outbox with its leases released, exits 0; the next start delivers it", async () => {
    const names = ["term-1@example.com", "term-2@example.com", "term-3@example.com"];
    const store = postgresStores(POSTGRES_URL, { schema });
    const bridge = await startProcess();
    sandbox.outage(true);
    try {
      for (const name of names) expect(await post(bridge.base, name)).toBe(201);
      const exited = new Promise<number | null>((r) => bridge.child.once("exit", (code) => r(code)));
      bridge.child.kill("SIGTERM");
      expect(await exited).toBe(0);
      const users = (
        await store.resources.list("t", "User", { lookups: names.map((value) => ({ attribute: "userName" as const, value })), startIndex: 1, count: 10 })
      ).resources;
      const work = await store.outbox.workOf(
        "t",
        users.map((u) => u.id),
      );
      expect([...work.values()].map((w) => [w.state, w.leaseOwner])).toEqual(names.map(() => ["pending", undefined]));
    } finally {
      sandbox.outage(false);
    }
    try {
      await restartUntilDrained(store);
      expect(
        [...sandbox.users.values()]
          .map((v) => String(v.UserName))
          .filter((n) => n.startsWith("term-"))
          .sort(),
      ).toEqual(names);
    } finally {
      await store.admin.close();
    }
  }, 60_000);
});

describe("the rate limit, as a vendor in its own process sees it", () => {
  it("(b) one bridge at the vendor's documented rate: the vendor never sees more calls in any second, and throttles none", async () => {
    const people = Array.from({ length: 150 }, (_, i) => `one-${i}@example.com`);
    const vendorProcess = await startVendorProcess(25);
    const config = join(dir, "bridge-25.yaml");
    writeConfig(config, { ...VENDORS.find((v) => v.name === "tencent-cic")!.vendor(vendorProcess.url), rateLimit: { perSecond: 25 } });
    const store = postgresStores(POSTGRES_URL, { schema });
    const bridge = await startProcess(config);
    try {
      const statuses = await pushUntilKilled(bridge.child, people, 16, (name) => post(bridge.base, name));
      expect(statuses.filter((s) => s !== 201)).toEqual([]);
      await outboxDrained(store.outbox, 60_000);
      const stats = await vendorProcess.stats();
      expect(stats.users.sort()).toEqual([...people].sort());
      expect(stats.maxCallsInAnySecond).toBeLessThanOrEqual(25);
      expect(stats.throttled).toBe(0);
    } finally {
      await stopAll([bridge.child, vendorProcess.child]);
      await store.admin.close();
    }
  }, 120_000);
});

async function stopAll(children: ChildProcess[]): Promise<void> {
  for (const child of children) {
    const exited = new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)));
    child.kill("SIGTERM");
    await exited;
  }
}

describe("two bridge processes on one PostgreSQL database", () => {
  it("push 2,000 users split across both: each created exactly once, and the vendor never sees more than its limit in any second", async () => {
    const people = Array.from({ length: 2000 }, (_, i) => `two-${i}@example.com`);
    const vendorProcess = await startVendorProcess(LIMIT);
    const limited = join(dir, "bridge-limited.yaml");
    writeConfig(limited, { ...VENDORS.find((v) => v.name === "tencent-cic")!.vendor(vendorProcess.url), rateLimit: { perSecond: LIMIT } });
    const store = postgresStores(POSTGRES_URL, { schema });
    const replicas = [await startProcess(limited), await startProcess(limited)];
    try {
      // Half the IdP's requests reach each replica (a load balancer); none is retried.
      const started = performance.now();
      const statuses = await Promise.all(
        replicas.map((r, k) =>
          pushUntilKilled(
            r.child,
            people.filter((_, i) => i % 2 === k),
            8,
            (name) => post(r.base, name),
          ),
        ),
      );
      expect(statuses.flat().filter((s) => s !== 201)).toEqual([]);
      await outboxDrained(store.outbox, 120_000);
      const seconds = (performance.now() - started) / 1000;
      const stats = await vendorProcess.stats();
      expect(stats.users.sort()).toEqual([...people].sort());
      expect(stats.maxCallsInAnySecond).toBeLessThanOrEqual(LIMIT);
      expect(stats.throttled).toBe(0);
      // Together at the limit, not each at it: 2,000 creates at 50/s take at least 40 s.
      expect(seconds).toBeGreaterThan(2000 / LIMIT - 1);
    } finally {
      await stopAll([...replicas.map((r) => r.child), vendorProcess.child]);
      await store.admin.close();
    }
  }, 180_000);
});

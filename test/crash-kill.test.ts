/**
 * Real bridge processes killed with SIGKILL in the middle of creates, on PostgreSQL, against a sandbox
 * vendor: after restarts and the IdP's retries, every link has its SCIM user and every SCIM user its link,
 * each person has exactly one vendor user, and reconcile --fix removes no live user's vendor account.
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
import { PostgresStore } from "../src/store/postgres";
import { user } from "./helpers/bridge";
import { POSTGRES_URL } from "./helpers/stores";
import { ENV, VENDORS } from "./helpers/vendors";

const REPO = resolve(__dirname, "..");
const TOKEN = `kill-${randomBytes(8).toString("hex")}`;
const PEOPLE = Array.from({ length: 60 }, (_, i) => `person${i}@example.com`);
/** Fixed kill points (ms after start of load), so a run is repeatable apart from scheduling. */
const KILL_AFTER_MS = [180, 260, 120];

let dir: string;
let sandbox: VendorSandbox;
let configFile: string;
let schema: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "scim-bridge-kill-"));
  // The bridge under test runs as its own process: compiled once, beside the sources' node_modules.
  execFileSync(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", join(REPO, "tsconfig.build.json"), "--outDir", join(dir, "dist")], { cwd: REPO });
  const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
  sandbox = cic.sandbox();
  const vendor = { ...cic.vendor(await sandbox.listen()), rateLimit: { perSecond: 1000, burst: 1000 } };
  schema = `t_kill_${randomBytes(5).toString("hex")}`;
  configFile = join(dir, "bridge.yaml");
  writeFileSync(
    configFile,
    JSON.stringify({
      server: { port: 0 },
      store: { kind: "postgres", url: POSTGRES_URL, schema, poolSize: 4 },
      log: { level: "error" },
      targets: [{ name: "t", tokens: [{ sha256: hashToken(TOKEN) }], vendor }],
    }),
  );
}, 60_000);

afterAll(async () => {
  const store = new PostgresStore(POSTGRES_URL, { schema });
  await store.dropSchema();
  await store.close();
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startProcess(): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [join(dir, "dist/src/cli.js"), "serve", "--config", configFile], {
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

const post = (base: string, userName: string) =>
  fetch(`${base}/Users`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/scim+json" }, body: JSON.stringify(user(userName)) })
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
  try {
    for (const person of PEOPLE) expect([201, 409]).toContain(await post(base, person));
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }

  const store = new PostgresStore(POSTGRES_URL, { schema });
  try {
    const links = (await store.allLinks("t")).filter((l) => !l.deletedAt);
    const users = (await store.list("t", "User", { startIndex: 1, count: 1000 })).resources;
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
    await store.close();
  }
}, 90_000);

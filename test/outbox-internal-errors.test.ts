/**
 * A vendor call that fails inside the bridge's own code — here the connector's signing throws a TypeError —
 * through the real outbox on SQLite, against the CIC sandbox: it is not taken for the vendor being down. A
 * create becomes a dead letter at once, saying so; a deactivation stays pending and is tried again until it
 * goes through. Neither opens the circuit nor counts as a vendor call; each is counted in
 * `scim_bridge_vendor_call_bugs_total` and logged at error with its stack.
 */
import { Writable } from "node:stream";
import { configFrom } from "../src/config/load";
import { hashToken } from "../src/http/auth";
import { createLogger } from "../src/log";
import { startBridge, type RunningBridge } from "../src/main";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { sqliteStores } from "../src/store/open";
import type { Stores } from "../src/store/stores";
import type { BuiltCall } from "../src/vendors/types";
import { TencentConnector } from "../src/vendors/tencent/connector";
import { eventually, patchOp, user } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";

const TOKEN = "bug-token";
const SIGNER_BUG = "Cannot read properties of undefined (reading 'secretKey')";

let sandbox: VendorSandbox;
let bridge: RunningBridge;
let store: Stores;
const logs: string[] = [];
const env = { ...process.env };
/** The operations whose signing throws. */
const broken = new Set<string>();

beforeAll(async () => {
  Object.assign(process.env, ENV);
  const sign = TencentConnector.prototype.prepare;
  jest.spyOn(TencentConnector.prototype, "prepare").mockImplementation(function (this: TencentConnector, call: BuiltCall, now?: Date) {
    if (broken.has(call.operation)) throw new TypeError(SIGNER_BUG);
    return sign.call(this, call, now);
  });
  const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
  sandbox = cic.sandbox();
  const vendor = {
    ...cic.vendor(await sandbox.listen()),
    answerWithinMs: 1_000,
    retry: { firstDelayMs: 20, maxDelayMs: 100, deprovisionMaxDelayMs: 100 },
    // Two failures would open it: the bug's repeated runs must not.
    circuit: { failures: 2, openMs: 60_000, maxOpenMs: 60_000 },
  };
  store = sqliteStores(":memory:");
  await store.admin.migrate();
  const config = configFrom({
    server: { port: 0 },
    metrics: { port: 0 },
    outbox: { pollMs: 20 },
    targets: [{ name: "t", tokens: [{ sha256: hashToken(TOKEN) }], vendor }],
  });
  const sink = new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) });
  bridge = await startBridge(config, { stores: store, log: createLogger("info", sink) });
});

afterAll(async () => {
  await bridge.close();
  await store.admin.close();
  await sandbox.close();
  jest.restoreAllMocks();
  process.env = env;
});

const scim = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${bridge.scimBaseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/scim+json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

/** The sum of the samples of `name` whose labels include all of `labels` (0 when there are none). */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(bridge.metricsUrl!)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** The log lines (parsed) that say a vendor call failed inside the bridge, for `operation`. */
const bugLines = (operation: string) =>
  logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.message === "vendor call failed inside the bridge: a bug, not the vendor" && l.operation === operation);

it("a create whose signing throws is a dead letter at once, with the reason; not a vendor outage", async () => {
  broken.add("create");
  const created = await scim("POST", "/Users", user("ann@example.com"));
  broken.delete("create");
  expect(created.status).toBe(201);
  const [row] = await store.outbox.list({ state: "failed", limit: 10 });
  expect(row).toMatchObject({ scimId: created.body.id, deprovision: false, attempts: 1, lastDetail: `internal error in create: ${SIGNER_BUG}` });
  expect((await scim("GET", `/Users/${String(created.body.id)}`)).body[VENDOR_LINK]).toMatchObject({
    provisioning: "failed",
    provisioningReason: `internal error in create: ${SIGNER_BUG}`,
  });
  expect(sandbox.callsOf("CreateUser")).toHaveLength(0);
  expect(await metric("scim_bridge_vendor_calls_total", { outcome: "transient" })).toBe(0);
  expect(await metric("scim_bridge_circuit_opens_total")).toBe(0);
  expect(await metric("scim_bridge_outbox_dead_letters_total", { target: "t" })).toBe(1);
  expect(await metric("scim_bridge_vendor_call_bugs_total", { target: "t", operation: "create" })).toBe(1);
  const [line, ...more] = bugLines("create");
  expect(more).toEqual([]);
  expect(line).toMatchObject({ level: "error", target: "t", scimId: created.body.id, call: "CreateUser", error: `internal error in create: ${SIGNER_BUG}` });
  expect(line!.stack).toMatch(new RegExp(`^TypeError: ${SIGNER_BUG.replace(/[()']/g, "\\$&")}\\n\\s+at `));
  expect(JSON.stringify(logs)).not.toContain(ENV.TEST_TENCENT_KEY);
});

it("a deactivation whose signing throws stays pending and is tried again, until it goes through", async () => {
  const created = await scim("POST", "/Users", user("ben@example.com"));
  expect(created.body[VENDOR_LINK]).toMatchObject({ provisioning: "applied" });
  const id = String(created.body.id);
  broken.add("disable");
  expect((await scim("PATCH", `/Users/${id}`, patchOp({ op: "replace", path: "active", value: false }))).status).toBe(200);
  // Tried run after run (more than the circuit's two failures), never given up.
  const row = await eventually(async () => {
    const work = (await store.outbox.workOf("t", [id])).get(id);
    return work && work.attempts >= 3 && work;
  });
  expect(row).toMatchObject({ state: "pending", deprovision: true, lastDetail: `internal error in disable: ${SIGNER_BUG}` });
  expect(await metric("scim_bridge_vendor_call_bugs_total", { target: "t", operation: "disable" })).toBeGreaterThanOrEqual(3);
  expect(await metric("scim_bridge_circuit_opens_total")).toBe(0);
  expect(await metric("scim_bridge_vendor_calls_total", { outcome: "transient" })).toBe(0);
  expect(await metric("scim_bridge_outbox_dead_letters_total", { target: "t" })).toBe(1);
  expect(sandbox.callsOf("UpdateUserStatus")).toHaveLength(0);
  expect(bugLines("disable").every((l) => l.level === "error" && String(l.stack).startsWith("TypeError: "))).toBe(true);

  broken.delete("disable");
  await eventually(async () => (await store.outbox.workOf("t", [id])).get(id)?.state === "done");
  expect([...sandbox.users.values()].find((u) => u.UserName === "ben@example.com")).toMatchObject({ UserStatus: "Disabled" });
});

/**
 * What an operator sees: a running bridge's /metrics (on its own port) scraped while a vendor works, goes
 * down, recovers and refuses a user. Each series the runbook alerts on exists and moves.
 */
import { configFrom } from "../src/config/load";
import { hashToken } from "../src/http/auth";
import { createLogger } from "../src/log";
import { startBridge, type RunningBridge } from "../src/main";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { SqliteStore } from "../src/store/sqlite";
import { eventually, patchOp, user } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";

const TOKEN = "metrics-token";

/** The samples of a Prometheus text exposition, as `name{labels}` → value. */
async function scrape(bridge: RunningBridge): Promise<Map<string, number>> {
  const text = await (await fetch(bridge.metricsUrl!)).text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The sum of every sample of `name` whose labels include all of `labels`. */
function value(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let seen = false;
  for (const [key, v] of samples) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, l]) => key.includes(`${k}="${l}"`))) continue;
    sum += v;
    seen = true;
  }
  if (!seen) throw new Error(`no series ${name} ${JSON.stringify(labels)}`);
  return sum;
}

let sandbox: VendorSandbox;
let bridge: RunningBridge;
let store: SqliteStore;
const env = { ...process.env };

beforeAll(async () => {
  Object.assign(process.env, ENV);
  const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
  sandbox = cic.sandbox();
  const vendor = {
    ...cic.vendor(await sandbox.listen()),
    answerWithinMs: 300,
    retry: { firstDelayMs: 50, maxDelayMs: 200, deprovisionMaxDelayMs: 200 },
    circuit: { failures: 3, openMs: 300, maxOpenMs: 600 },
  };
  store = new SqliteStore(":memory:");
  await store.migrate();
  const config = configFrom({
    server: { port: 0 },
    log: { level: "error" },
    metrics: { port: 0 },
    outbox: { pollMs: 20 },
    targets: [{ name: "t", tokens: [{ sha256: hashToken(TOKEN) }], vendor }],
  });
  bridge = await startBridge(config, { store, log: createLogger("error") });
});

afterAll(async () => {
  await bridge.close();
  await store.close();
  await sandbox.close();
  process.env = env;
});

const scim = (method: string, path: string, body?: unknown) =>
  fetch(`${bridge.scimBaseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/scim+json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

it("every series exists and moves: requests, vendor calls, outbox depth and age, retries, dead letters, limiter, circuit, time to deprovision", async () => {
  const before = await scrape(bridge);
  expect(value(before, "scim_bridge_outbox_depth", { target: "t", state: "pending" })).toBe(0);
  expect(value(before, "scim_bridge_outbox_dead_letters_total", { target: "t" })).toBe(0);
  expect(value(before, "scim_bridge_store_up")).toBe(1);

  // A user delivered at once.
  const ann = (await (await scim("POST", "/Users", user("ann@example.com"))).json()) as { id: string };
  let now = await scrape(bridge);
  expect(value(now, "scim_bridge_scim_requests_total", { target: "t", method: "POST", route: "/Users", status: "201" })).toBe(1);
  expect(value(now, "scim_bridge_scim_request_duration_seconds_count", { target: "t", method: "POST", route: "/Users" })).toBe(1);
  expect(value(now, "scim_bridge_vendor_calls_total", { vendor: "tencent-cic", action: "CreateUser", outcome: "success" })).toBe(1);
  expect(value(now, "scim_bridge_vendor_call_duration_seconds_count", { action: "CreateUser" })).toBe(1);
  expect(value(now, "scim_bridge_rate_limiter_wait_seconds_count")).toBeGreaterThanOrEqual(1);
  expect(value(now, "scim_bridge_rate_limit_current_per_second")).toBe(20);

  // The vendor goes down: a new user and a leaver wait in the outbox; retries count; the circuit opens.
  sandbox.outage(true);
  expect((await scim("POST", "/Users", user("bob@example.com"))).status).toBe(201);
  expect((await scim("PATCH", `/Users/${ann.id}`, patchOp({ op: "replace", path: "active", value: false }))).status).toBe(200);
  now = await eventually(async () => {
    const s = await scrape(bridge);
    return value(s, "scim_bridge_circuit_open") === 1 && value(s, "scim_bridge_outbox_retries_total", { target: "t" }) >= 2 && s;
  });
  expect(value(now, "scim_bridge_outbox_depth", { target: "t", state: "pending" })).toBe(2);
  expect(value(now, "scim_bridge_outbox_retries_total", { target: "t" })).toBeGreaterThanOrEqual(2);
  expect(value(now, "scim_bridge_circuit_opens_total")).toBeGreaterThanOrEqual(1);
  expect(value(now, "scim_bridge_vendor_calls_total", { outcome: "transient" })).toBeGreaterThanOrEqual(3);
  now = await eventually(async () => {
    const s = await scrape(bridge);
    return value(s, "scim_bridge_outbox_oldest_pending_deprovision_seconds", { target: "t" }) > 0 && s;
  });
  // Readiness stays about the store: an open circuit is not "not ready".
  expect((await fetch(`${bridge.url}/readyz`)).status).toBe(200);

  // It comes back, refusing the new user's name: a dead letter; the leaver is delivered; the circuit closes.
  sandbox.failNext({ action: "CreateUser", status: 200, code: "InvalidParameter.UsernameFormatError", message: "refused" });
  sandbox.outage(false);
  now = await eventually(async () => {
    const s = await scrape(bridge);
    return (
      value(s, "scim_bridge_outbox_dead_letters_total", { target: "t" }) === 1 &&
      value(s, "scim_bridge_outbox_depth", { target: "t", state: "pending" }) === 0 &&
      s
    );
  });
  expect(value(now, "scim_bridge_outbox_depth", { target: "t", state: "failed" })).toBe(1);
  expect(value(now, "scim_bridge_outbox_oldest_pending_deprovision_seconds", { target: "t" })).toBe(0);
  expect(value(now, "scim_bridge_circuit_open")).toBe(0);
  expect(value(now, "scim_bridge_scim_requests_total", { route: "/Users/:id", method: "PATCH", status: "200" })).toBe(1);
  // The leaver's time from the IdP's request to the vendor's confirmation: the outage's length, in the p99 alert's histogram.
  expect(value(now, "scim_bridge_deprovision_to_vendor_seconds_count", { target: "t" })).toBe(1);
  expect(value(now, "scim_bridge_deprovision_to_vendor_seconds_sum", { target: "t" })).toBeGreaterThan(0.1);
  expect(value(now, "scim_bridge_deprovision_to_vendor_seconds_bucket", { target: "t", le: "60" })).toBe(1);
});

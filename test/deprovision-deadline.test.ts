/**
 * A leaver loses access within a minute of the vendor being reachable: the bridge and the Tencent CIC sandbox
 * as processes of their own, times scaled down (the circuit opens for 1 s doubling to 8 s, where production
 * has 10 s doubling to 5 min; a deprovisioning probes every second, where production has 5 s), the shape
 * kept. What the vendor received, and when, is read from the vendor's own record.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashToken } from "../src/http/auth";
import type { RecordedCall } from "../src/sandbox/sandbox";
import { SqliteStore } from "../src/store/sqlite";
import { eventually, patchOp, user } from "./helpers/bridge";
import { cicVendor, compileBridge, inPool, scim, startBridgeProcess, startVendorProcess, stopChild } from "./helpers/processes";

const TOKEN = `deadline-${Math.random().toString(36).slice(2)}`;
/** The vendor's limit, and the bridge's. */
const LIMIT = 50;
const CIRCUIT = { failures: 5, openMs: 1_000, maxOpenMs: 8_000, probeEveryMs: 1_000 };
const RETRY = { firstDelayMs: 200, maxDelayMs: 8_000, deprovisionMaxDelayMs: 3_000 };

let dir: string;
let dist: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "scim-bridge-deadline-"));
  dist = compileBridge(dir);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A bridge process on SQLite with one CIC target on `vendorUrl`; the store as the test reads it. */
async function bridgeOn(name: string, vendorUrl: string, vendor: Record<string, unknown>, outbox: Record<string, unknown> = {}) {
  const path = join(dir, `${name}.db`);
  const bridge = await startBridgeProcess(dist, join(dir, `${name}.json`), {
    server: { port: 0 },
    store: { kind: "sqlite", path },
    log: { level: "error" },
    outbox: { pollMs: 50, ...outbox },
    targets: [{ name: "t", tokens: [{ sha256: hashToken(TOKEN) }], vendor: cicVendor(vendorUrl, vendor) }],
  });
  const store = new SqliteStore(path, { scanWorker: false });
  const open = async (state: "pending" | "failed") => store.listWork({ state, limit: 10_000 });
  return { ...bridge, store, open, drained: () => eventually(async () => (await open("pending")).length === 0, 60_000, 100) };
}

const disabled = (c: RecordedCall) => c.action === "UpdateUserStatus" && c.params.NewUserStatus === "Disabled";

it("an outage of three times the circuit's longest open period while an IdP that never retries deactivates 100 users and creates 100", async () => {
  const vendor = await startVendorProcess(dist, LIMIT);
  const bridge = await bridgeOn("outage", vendor.url, {
    rateLimit: { perSecond: LIMIT },
    circuit: CIRCUIT,
    retry: RETRY,
    deadlineMs: 2_000,
    answerWithinMs: 500,
  });
  try {
    const leavers = Array.from({ length: 100 }, (_, i) => `leaver-${i}@example.com`);
    const joiners = Array.from({ length: 100 }, (_, i) => `joiner-${i}@example.com`);
    const created = await inPool(leavers, 8, (name) => scim(bridge.base, TOKEN, "POST", "/Users", user(name)));
    expect(created.map((r) => r.status)).toEqual(leavers.map(() => 201));
    await bridge.drained();
    const keyOf = new Map((await vendor.users()).map((u) => [u.name, u.id]));

    await vendor.outage(true);
    const outageAt = Date.now();
    // The IdP deactivates each leaver and creates each joiner once, four requests at a time, and never retries.
    const deactivated = inPool(created, 4, (r) =>
      scim(bridge.base, TOKEN, "PATCH", `/Users/${String(r.body.id)}`, patchOp({ op: "replace", path: "active", value: false })),
    );
    const joined = inPool(joiners, 4, (name) => scim(bridge.base, TOKEN, "POST", "/Users", user(name)));
    expect((await deactivated).map((r) => r.status)).toEqual(leavers.map(() => 200));
    expect((await joined).map((r) => r.status)).toEqual(joiners.map(() => 201));
    const lastSent = Date.now();
    await new Promise((r) => setTimeout(r, outageAt + 3 * CIRCUIT.maxOpenMs - Date.now()));
    await vendor.outage(false);
    const recoveredAt = Date.now();

    await bridge.drained();
    expect(await bridge.open("failed")).toEqual([]);
    const calls = await vendor.calls();
    // While it was down, a deprovisioning reached the vendor at least every deprovisionMaxDelayMs (the
    // doubling's 8 s never held them) — and the circuit kept the rest away: about one call per probe.
    const probes = calls.filter((c) => disabled(c) && c.receivedAt >= lastSent && c.receivedAt < recoveredAt).map((c) => c.receivedAt);
    const gaps = [lastSent, ...probes, recoveredAt].slice(1).map((at, i) => at - [lastSent, ...probes][i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(RETRY.deprovisionMaxDelayMs);
    const duringOutage = calls.filter((c) => c.receivedAt >= lastSent + 1_000 && c.receivedAt < recoveredAt).length;
    expect(duringOutage).toBeLessThanOrEqual((recoveredAt - lastSent) / CIRCUIT.probeEveryMs + 10);

    // Recovery is noticed by the next probe; every leaver's deactivation lands right behind it, at the full
    // rate: within the probe interval plus 100 calls at 50 a second (and a margin for a loaded machine).
    const landed = leavers.map((name) => calls.find((c) => disabled(c) && c.answer === "ok" && c.params.UserId === keyOf.get(name))?.receivedAt ?? Infinity);
    const afterRecovery = landed.map((at) => at - recoveredAt);
    expect(Math.min(...afterRecovery)).toBeLessThan(CIRCUIT.probeEveryMs + 1_500);
    expect(Math.max(...afterRecovery)).toBeLessThan(CIRCUIT.probeEveryMs + (leavers.length / LIMIT) * 1_000 + 4_000);

    // Nothing lost or doubled: the vendor holds each joiner once and every leaver disabled, and never saw
    // more than its limit in any second.
    const users = await vendor.users();
    expect(
      users
        .filter((u) => u.name.startsWith("joiner-"))
        .map((u) => u.name)
        .sort(),
    ).toEqual([...joiners].sort());
    expect(users.filter((u) => u.name.startsWith("leaver-")).map((u) => u.status)).toEqual(leavers.map(() => "Disabled"));
    expect(await vendor.stats()).toMatchObject({ throttled: 0, maxCallsInAnySecond: expect.any(Number) });
    expect((await vendor.stats()).maxCallsInAnySecond).toBeLessThanOrEqual(LIMIT);
  } finally {
    await stopChild(bridge.child);
    await bridge.store.close();
    await stopChild(vendor.child);
  }
}, 110_000);

it("strict mode: a create that hangs past the deadline is 504 with Retry-After; the IdP's immediate retry leaves nothing pending", async () => {
  const vendor = await startVendorProcess(dist);
  // The worker looks for due work only every second: the IdP's retry comes first, as it did in the field.
  const bridge = await bridgeOn("strict", vendor.url, { onVendorDelay: "fail", deadlineMs: 1_000, retry: RETRY }, { pollMs: 1_000 });
  try {
    const names = ["a7race@example.com", "b7race@example.com", "c7race@example.com"];
    const retried: number[] = [];
    for (const name of names) {
      await vendor.failNext({ action: "CreateUser", commit: true, delayMs: 2_500 });
      const res = await fetch(`${bridge.base}/Users`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/scim+json" },
        body: JSON.stringify(user(name)),
      });
      expect(res.status).toBe(504);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      retried.push((await scim(bridge.base, TOKEN, "POST", "/Users", user(name))).status);
    }
    await bridge.drained();
    expect(await bridge.open("failed")).toEqual([]);
    // Each retry that succeeded holds its vendor user; one answered otherwise left nothing behind.
    const listed = await scim(bridge.base, TOKEN, "GET", "/Users");
    const stored = (listed.body.Resources as { userName: string }[]).map((u) => u.userName).sort();
    expect(stored).toEqual(names.filter((_, i) => retried[i] === 201).sort());
    const atVendor = (await vendor.users()).filter((u) => u.status !== "Disabled").map((u) => u.name);
    expect(atVendor.sort()).toEqual(stored);
    expect(retried.filter((s) => s === 201).length).toBeGreaterThan(0);
  } finally {
    await stopChild(bridge.child);
    await bridge.store.close();
    await stopChild(vendor.child);
  }
}, 60_000);

/**
 * The outbox against vendor faults, with an IdP client that behaves like Entra ID: it sends each change
 * once, a few at a time, and never retries. Whatever the vendor does (an outage in the middle of a push,
 * throttling, a create committed and then its connection dropped or hung), afterwards every user is at the
 * vendor exactly once and the vendor holds no user the bridge does not know. The sandboxes' fault injection
 * plays the vendor; times are scaled down (a 3 s outage stands for 30 s). That the vendor never sees more
 * calls in a second than it allows is measured with the vendor in a process of its own
 * (test/crash-kill.test.ts), where the load generator's work cannot skew its clock.
 */
import { reconcile } from "../src/provisioning/reconcile";
import { buildProvisioners } from "../src/provisioning/targets";
import { configFrom } from "../src/config/load";
import { createLogger } from "../src/log";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { eventually, outboxDrained, user, type TestBridge } from "./helpers/bridge";
import { ENV, VENDORS, withSandboxBridge } from "./helpers/vendors";

const cic = VENDORS.find((v) => v.name === "tencent-cic")!;

/** Fast retries and a short circuit, so a scaled-down outage plays out in seconds. */
const QUICK = { retry: { firstDelayMs: 100, maxDelayMs: 1_000, deprovisionMaxDelayMs: 1_000 }, circuit: { failures: 5, openMs: 300, maxOpenMs: 1_000 } };

/** An Entra-like push: each user POSTed once, `concurrency` at a time; answers each status. */
async function push(bridge: TestBridge, names: string[], concurrency = 8, during?: (sent: number) => void): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      during?.(i);
      statuses[i] = (await bridge.as("t").post("/Users", user(names[i]!))).status;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

/** Every stored user is at the vendor exactly once, linked; the vendor has nobody else; reconcile sees no drift. */
async function exactlyOnce(
  bridge: TestBridge,
  sandbox: VendorSandbox,
  names: string[],
  vendor: Record<string, unknown>,
  nameOf: (u: Record<string, unknown>) => string,
): Promise<void> {
  const atVendor = [...sandbox.users.values()].map(nameOf).sort();
  expect(atVendor).toEqual([...names].sort());
  const links = (await bridge.stores.links.all("t")).filter((l) => !l.deletedAt);
  expect(links).toHaveLength(names.length);
  expect(new Set(links.map((l) => l.vendorKey)).size).toBe(names.length);
  const built = buildProvisioners(
    configFrom({ targets: [{ name: "t", tokens: [{ sha256: "e".repeat(64) }], vendor }] }),
    bridge.stores,
    createLogger("error"),
    ENV,
  );
  try {
    const report = await reconcile("t", built.vendorProvisioners.get("t")!, bridge.stores, { fix: false });
    expect(report.drifts).toEqual([]);
  } finally {
    await built.close();
  }
}

const cicName = (u: Record<string, unknown>) => String(u.UserName);

it(
  "(a) the vendor answers 5xx for a while in the middle of a 500-user push: no IdP request fails, and afterwards everyone is there once",
  () =>
    withSandboxBridge(cic, { ...QUICK, rateLimit: { perSecond: 1000 }, answerWithinMs: 500 }, async (bridge, sandbox, vendor) => {
      const names = Array.from({ length: 500 }, (_, i) => `push-${i}@example.com`);
      let outage: Promise<void> | undefined;
      const statuses = await push(bridge, names, 8, (i) => {
        if (i !== 150) return;
        sandbox.outage(true);
        outage = new Promise<void>((resolve) => setTimeout(() => (sandbox.outage(false), resolve()), 3_000));
      });
      await outage;
      // An IdP that never retries was told success for everyone: the bridge owns the rest.
      expect(statuses.filter((s) => s !== 201)).toEqual([]);
      expect(sandbox.callsOf("CreateUser").some((c) => c.answer === "InternalError")).toBe(true);
      await outboxDrained(bridge.stores.outbox, 60_000);
      expect(await bridge.stores.outbox.list({ state: "failed", limit: 10 })).toEqual([]);
      await exactlyOnce(bridge, sandbox, names, vendor, cicName);
      // The circuit opened: the outage did not get one call per pending user per retry.
      expect(bridge.logs.some((l) => l.includes("circuit is open"))).toBe(true);
    }),
  90_000,
);

it(
  "(b) against a vendor that allows far less than configured, the limiter slows down: nothing lost, most calls not throttled",
  () =>
    withSandboxBridge(cic, { ...QUICK, rateLimit: { perSecond: 20 }, answerWithinMs: 200 }, async (bridge, sandbox, vendor) => {
      sandbox.limitRate(5);
      const names = Array.from({ length: 60 }, (_, i) => `slow-${i}@example.com`);
      const statuses = await push(bridge, names, 16);
      expect(statuses.filter((s) => s !== 201)).toEqual([]);
      await outboxDrained(bridge.stores.outbox, 90_000);
      await exactlyOnce(bridge, sandbox, names, vendor, cicName);
      const creates = sandbox.callsOf("CreateUser");
      const throttled = creates.filter((c) => c.answer === "RequestLimitExceeded").length;
      // A fixed 20/s bucket had 63 % of its calls throttled by a 5/s vendor; adapting keeps it well under that.
      expect(throttled / creates.length).toBeLessThan(0.4);
    }),
  120_000,
);

describe.each(VENDORS)("(c) $name: a create the vendor commits and then", (fixture) => {
  const nameOf = (u: Record<string, unknown>) => String(u.UserName ?? u.LoginName ?? u.userAccount ?? "");
  const expectedName = (userName: string) => nameOf(fixture.existing(userName));

  it.each([
    ["drops the connection", { drop: true }],
    ["hangs past the deadline", { delayMs: 2_500 }],
  ])("%s: no duplicate, no orphan", (_what, fault) =>
    withSandboxBridge(fixture, { ...QUICK, deadlineMs: 1_000, answerWithinMs: 300 }, async (bridge, sandbox) => {
      sandbox.failNext({ action: fixture.createAction, commit: true, ...fault });
      const res = await bridge
        .as("t")
        .post("/Users", user("commit@example.com", { phoneNumbers: [{ value: "13800138000", type: "mobile" }] }))
        .expect(201);
      await outboxDrained(bridge.stores.outbox, 30_000);
      const view = (await bridge.as("t").get(`/Users/${res.body.id}`).expect(200)).body[VENDOR_LINK];
      expect(view).toMatchObject({ provisioning: "applied", link: "created" });
      expect([...sandbox.users.values()].map(nameOf)).toEqual([expectedName("commit@example.com")]);
      const links = await bridge.stores.links.all("t");
      expect(links.map((l) => l.vendorKey)).toEqual([view.vendorUserId]);
      // The held answer, if any, arrives after the bridge gave up on it: still only the one create was sent.
      await eventually(() => sandbox.callsOf(fixture.createAction).length === 1);
    }),
  );
});

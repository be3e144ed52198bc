/**
 * One vendor user, one SCIM user: no target takes another target's vendor user, no two userNames share one,
 * a group's members are its own target's, and a user and its vendor link are written together — so a crash,
 * a race or a deadline never leaves a link that reconcile would mistake for an orphan and delete.
 */
import { randomUUID } from "node:crypto";
import { configFrom } from "../src/config/load";
import { createLogger } from "../src/log";
import { reconcile } from "../src/provisioning/reconcile";
import { buildProvisioners } from "../src/provisioning/targets";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { userKeys } from "../src/scim/documents";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { CORE_GROUP, patchOp, startTestBridge, user, type TestBridge } from "./helpers/bridge";
import { eventually, outboxDrained } from "./helpers/bridge";
import { ENV, VENDORS, type VendorFixture } from "./helpers/vendors";

const fixture = (name: string) => VENDORS.find((v) => v.name === name)!;

async function withVendor(
  f: VendorFixture,
  targets: { name: string; vendor?: Record<string, unknown> | true }[],
  run: (bridge: TestBridge, sandbox: VendorSandbox, vendor: Record<string, unknown>) => Promise<void>,
): Promise<void> {
  const sandbox = f.sandbox();
  const vendor = f.vendor(await sandbox.listen());
  const bridge = await startTestBridge(
    targets.map((t) => ({ name: t.name, ...(t.vendor ? { vendor: t.vendor === true ? vendor : { ...vendor, ...t.vendor } } : {}) })),
    { env: ENV },
  );
  try {
    await run(bridge, sandbox, vendor);
  } finally {
    await bridge.close();
    await sandbox.close();
  }
}

async function reconcileTarget(bridge: TestBridge, targets: { name: string; vendor: Record<string, unknown> }[], name: string, fix: boolean) {
  const config = configFrom({
    targets: targets.map((t) => ({ name: t.name, tokens: [{ sha256: randomUUID().replace(/-/g, "").padEnd(64, "0") }], vendor: t.vendor })),
  });
  const built = buildProvisioners(config, bridge.stores, createLogger("error"), ENV);
  try {
    return await reconcile(name, built.vendorProvisioners.get(name)!, bridge.stores, { fix });
  } finally {
    await built.close();
  }
}

describe("targets sharing a vendor account", () => {
  it("target D cannot adopt the vendor user target C provisioned, nor remove it", () =>
    withVendor(
      fixture("tencent-cic"),
      [
        { name: "c", vendor: true },
        { name: "d", vendor: true },
      ],
      async (bridge, sandbox) => {
        const alice = (await bridge.as("c").post("/Users", user("alice@example.com")).expect(201)).body;
        const key = alice[VENDOR_LINK].vendorUserId as string;
        const res = await bridge.as("d").post("/Users", user("alice@example.com")).expect(409);
        expect(res.body.scimType).toBe("uniqueness");
        expect(res.body.detail).toMatch(/another target/);
        expect(res.body.detail).not.toMatch(/alice/); // another target's user is not named to this one
        expect((await bridge.as("d").get("/Users").expect(200)).body.totalResults).toBe(0);
        expect(sandbox.users.has(key)).toBe(true);
        expect((await bridge.stores.links.holding(["c", "d"], key)).map((l) => l.target)).toEqual(["c"]);
        // C's user still works: deactivation reaches the vendor.
        await bridge
          .as("c")
          .patch(`/Users/${alice.id}`, patchOp({ op: "replace", path: "active", value: false }))
          .expect(200);
        expect(sandbox.users.get(key)!.UserStatus).toBe("Disabled");
      },
    ));

  it("targets on different credentials are not one account: the rule does not reach across", () =>
    withVendor(fixture("tencent-cic"), [{ name: "c", vendor: true }], async (bridge) => {
      const provisioners = buildProvisioners(
        configFrom({
          targets: [
            {
              name: "c",
              tokens: [{ sha256: "a".repeat(64) }],
              vendor: {
                mapping: "mappings/tencent-cic.yaml",
                credentials: { secretId: "TEST_TENCENT_ID", secretKey: "TEST_TENCENT_KEY" },
                settings: { CIC_ZONE_ID: "z-1" },
              },
            },
            {
              name: "e",
              tokens: [{ sha256: "b".repeat(64) }],
              vendor: {
                mapping: "mappings/tencent-cic.yaml",
                credentials: { secretId: "TEST_WRONG", secretKey: "TEST_TENCENT_KEY" },
                settings: { CIC_ZONE_ID: "z-1" },
              },
            },
          ],
        }),
        bridge.stores,
        createLogger("error"),
        ENV,
      );
      try {
        const deps = (p: unknown) => (p as { calls: { deps: { accountTargets: string[] } } }).calls.deps.accountTargets;
        expect(deps(provisioners.vendorProvisioners.get("c"))).toEqual(["c"]);
        expect(deps(provisioners.vendorProvisioners.get("e"))).toEqual(["e"]);
      } finally {
        await provisioners.close();
      }
    }));
});

describe("one target", () => {
  it("two userNames that map to one vendor key: the second is 409, not a second link to the first's account", () =>
    withVendor(fixture("huawei-aicc"), [{ name: "t", vendor: true }], async (bridge, sandbox) => {
      const first = (await bridge.as("t").post("/Users", user("ann@example.com")).expect(201)).body;
      const key = first[VENDOR_LINK].vendorUserId as string;
      expect(key).toBe("ann_example_com");
      const res = await bridge
        .as("t")
        .post("/Users", user("ann_example.com", { emails: [{ value: "ann@example.com", primary: true }] }))
        .expect(409);
      expect(res.body.detail).toMatch(/ann@example.com/);
      expect((await bridge.stores.links.all("t")).map((l) => l.scimId)).toEqual([first.id]);
      expect(sandbox.users.size).toBe(1);
    }));

  it("a group member must be a user or group of the same target", () =>
    withVendor(
      fixture("tencent-cic"),
      [
        { name: "a", vendor: true },
        { name: "b", vendor: true },
      ],
      async (bridge, sandbox) => {
        const theirs = (await bridge.as("a").post("/Users", user("x@example.com")).expect(201)).body.id;
        const mine = (await bridge.as("b").post("/Users", user("y@example.com")).expect(201)).body.id;
        const post = await bridge
          .as("b")
          .post("/Groups", { schemas: [CORE_GROUP], displayName: "G", members: [{ value: theirs }] })
          .expect(400);
        expect(post.body.scimType).toBe("invalidValue");
        // The refused create left nothing behind: no SCIM group, no vendor group.
        expect((await bridge.as("b").get("/Groups").expect(200)).body.totalResults).toBe(0);
        expect(sandbox.groups.size).toBe(0);
        const group = (
          await bridge
            .as("b")
            .post("/Groups", { schemas: [CORE_GROUP], displayName: "G", members: [{ value: mine }] })
            .expect(201)
        ).body.id;
        await bridge
          .as("b")
          .patch(`/Groups/${group}`, patchOp({ op: "add", path: "members", value: [{ value: theirs }] }))
          .expect(400);
        await bridge
          .as("b")
          .put(`/Groups/${group}`, { schemas: [CORE_GROUP], displayName: "G", members: [{ value: mine }, { value: "made-up" }] })
          .expect(400);
        expect((await bridge.stores.members.of("b", group)).map((m) => m.value)).toEqual([mine]);
      },
    ));
});

describe("a user and its vendor link are one write", () => {
  it("the SCIM user is recorded before any vendor call: a create the store refuses never reaches the vendor", () =>
    withVendor(fixture("tencent-cic"), [{ name: "t", vendor: true }], async (bridge, sandbox) => {
      // Another replica stores the same userName between this request's check and its write.
      const list = bridge.stores.resources.list.bind(bridge.stores.resources);
      bridge.stores.resources.list = async (...args) => {
        const page = await list(...args);
        const doc = user("race@example.com");
        if (page.total === 0) await bridge.stores.resources.create("t", "User", randomUUID(), doc, userKeys(doc));
        bridge.stores.resources.list = list;
        return page;
      };
      await bridge.as("t").post("/Users", user("race@example.com")).expect(409);
      expect(sandbox.callsOf("CreateUser")).toEqual([]);
      expect(await bridge.stores.links.all("t")).toEqual([]);
    }));

  it("a create whose later step the deadline cuts off is kept, pending, and the bridge's own retry finishes it on the vendor user it made", () =>
    withVendor(fixture("tencent-ciam"), [{ name: "t", vendor: { deadlineMs: 1000, retry: { firstDelayMs: 50 } } }], async (bridge, sandbox) => {
      sandbox.failNext({ action: "UpdateUserStatus", status: 200, code: "InternalError", message: "slow", delayMs: 1500 });
      const res = await bridge
        .as("t")
        .post("/Users", user("late@example.com", { active: false, password: "Correct-Horse-9", phoneNumbers: [{ value: "13800138000", type: "mobile" }] }))
        .expect(201);
      expect(res.body[VENDOR_LINK].provisioning).toBe("pending");
      const done = await eventually(async () => {
        const now = (await bridge.as("t").get(`/Users/${res.body.id}`).expect(200)).body[VENDOR_LINK];
        return now.provisioning === "applied" && now;
      });
      expect(sandbox.users.size).toBe(1);
      expect(sandbox.users.get(done.vendorUserId)!.Status).toBe("FREEZE");
      expect(done.link).toBe("created");
    }));

  it("under onVendorDelay: fail a create whose later step the deadline cuts off keeps nothing, as its 504 says (no link without a user)", () =>
    withVendor(fixture("tencent-ciam"), [{ name: "t", vendor: { deadlineMs: 1000, onVendorDelay: "fail" } }], async (bridge, sandbox) => {
      // An inactive user is created, then frozen; the freeze outlives the deadline.
      sandbox.failNext({ action: "UpdateUserStatus", status: 200, code: "InternalError", message: "slow", delayMs: 1500 });
      const res = await bridge
        .as("t")
        .post("/Users", user("late@example.com", { active: false, password: "Correct-Horse-9", phoneNumbers: [{ value: "13800138000", type: "mobile" }] }))
        .expect(504);
      expect(res.body.detail).toMatch(/Nothing was kept/);
      expect(await bridge.stores.links.all("t")).toEqual([]);
      expect((await bridge.as("t").get("/Users").expect(200)).body.totalResults).toBe(0);
      // Nothing is kept at the vendor either: the bridge finds the vendor user the cut-off create made and
      // removes it. The IdP's retry (minutes later) then creates the user anew, and freezes it.
      await outboxDrained(bridge.stores.outbox);
      expect(sandbox.users.size).toBe(0);
      const retried = (
        await bridge
          .as("t")
          .post("/Users", user("late@example.com", { active: false, password: "Correct-Horse-9", phoneNumbers: [{ value: "13800138000", type: "mobile" }] }))
          .expect(201)
      ).body;
      expect(sandbox.users.get(retried[VENDOR_LINK].vendorUserId)!.Status).toBe("FREEZE");
    }));

  it("reconcile --fix never removes a vendor user that a live SCIM user links, even beside a stale link", () =>
    withVendor(fixture("tencent-cic"), [{ name: "t", vendor: true }], async (bridge, sandbox, vendor) => {
      const live = (await bridge.as("t").post("/Users", user("live@example.com")).expect(201)).body;
      const key = live[VENDOR_LINK].vendorUserId as string;
      // A link without its SCIM user, to the same vendor user (what a crash between two writes used to leave).
      await bridge.stores.links.record({
        target: "t",
        scimId: randomUUID(),
        vendor: "tencent-cic",
        vendorKey: key,
        link: "created",
        userName: "live@example.com",
      });
      const report = await reconcileTarget(bridge, [{ name: "t", vendor }], "t", true);
      const orphan = report.drifts.find((d) => d.kind === "orphan")!;
      expect(orphan.fixed).toBe(false);
      expect(orphan.fixError).toMatch(/linked to a live SCIM user/);
      expect(sandbox.users.has(key)).toBe(true);
    }));

  it("reconcile reports a vendor user the bridge created whose answer was lost and whose work an operator dropped", () =>
    withVendor(fixture("tencent-cic"), [{ name: "t", vendor: { deadlineMs: 1000, retry: { firstDelayMs: 60_000 } } }], async (bridge, sandbox, vendor) => {
      sandbox.failNext({ action: "CreateUser", status: 200, code: "InternalError", message: "lost", commit: true, delayMs: 1500 });
      const res = await bridge.as("t").post("/Users", user("lost@example.com")).expect(201);
      // The bridge would look it up on its next try; an operator gives the work up first.
      expect(await bridge.stores.outbox.drop("t", res.body.id)).toBe(true);
      const made = [...sandbox.users.values()].find((u) => u.UserName === "lost@example.com")!;
      const report = await reconcileTarget(bridge, [{ name: "t", vendor }], "t", false);
      const unlinked = report.drifts.filter((d) => d.kind === "unlinked");
      expect(unlinked.map((d) => [d.vendorKey, d.userName, d.repair])).toEqual([[made.id, "lost@example.com", "none"]]);
      // The trail names the user by a hash, never by the name itself.
      expect(JSON.stringify(await bridge.stores.trail.calls("t", { limit: 10 }))).not.toMatch(/lost@example/);
    }));
});

describe("existingUsers: reject", () => {
  it("recognises the bridge's own create whose answer was lost: the IdP's retry links it instead of 409 for ever", () =>
    withVendor(
      fixture("tencent-cic"),
      [{ name: "t", vendor: { existingUsers: "reject", deadlineMs: 1000, onVendorDelay: "fail" } }],
      async (bridge, sandbox) => {
        sandbox.failNext({ action: "CreateUser", status: 200, code: "InternalError", message: "lost", commit: true, delayMs: 1500 });
        await bridge.as("t").post("/Users", user("own@example.com")).expect(504);
        await outboxDrained(bridge.stores.outbox);
        const retried = (await bridge.as("t").post("/Users", user("own@example.com")).expect(201)).body;
        expect(retried[VENDOR_LINK].link).toBe("created");
        expect(sandbox.users.size).toBe(1);
        // A vendor user the bridge never created is still refused.
        sandbox.seedUser({ id: "u-stranger", UserName: "stranger@example.com", UserStatus: "Enabled", UserType: "Manual" });
        await bridge.as("t").post("/Users", user("stranger@example.com")).expect(409);
      },
    ));
});

describe("If-Match", () => {
  it("a stale version is refused before the vendor is called: DELETE and PUT answer 412 and the vendor user is untouched", () =>
    withVendor(fixture("tencent-cic"), [{ name: "t", vendor: true }], async (bridge, sandbox) => {
      const created = (await bridge.as("t").post("/Users", user("etag@example.com")).expect(201)).body;
      const key = created[VENDOR_LINK].vendorUserId as string;
      await bridge
        .as("t")
        .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "displayName", value: "Now" }))
        .expect(200);
      const calls = sandbox.calls.length;
      await bridge.as("t").delete(`/Users/${created.id}`).set("If-Match", created.meta.version).expect(412);
      await bridge
        .as("t")
        .put(`/Users/${created.id}`, user("etag@example.com", { displayName: "Stale" }))
        .set("If-Match", created.meta.version)
        .expect(412);
      expect(sandbox.calls.length).toBe(calls);
      expect(sandbox.users.get(key)!.DisplayName).not.toBe("Stale");
      // A deactivation is the exception: a leaver is deactivated whatever version the IdP holds.
      const res = await bridge
        .as("t")
        .put(`/Users/${created.id}`, user("etag@example.com", { active: false }))
        .set("If-Match", created.meta.version)
        .expect(412);
      expect(res.body.detail).toMatch(/^The user was deactivated; the rest of the request was not applied/);
      expect(sandbox.users.get(key)!.UserStatus).toBe("Disabled");
    }));
});

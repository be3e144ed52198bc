/**
 * A create the vendor commits but whose answer is lost (intent recorded, no link), followed by a DELETE or a
 * deactivation before the retry: the vendor user must not stay enabled. And a password the lost create
 * carried is not sent again once the retry links the vendor user.
 */
import { mappingAt } from "../src/provisioning/targets";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { outboxDrained, patchOp, user, type TestBridge } from "./helpers/bridge";
import { person, VENDORS, withSandboxBridge, type VendorFixture } from "./helpers/vendors";

// Retries far in the future: the IdP's next change comes before the outbox retries the lost create.
const SLOW_RETRY = { retry: { firstDelayMs: 60_000, maxDelayMs: 60_000, deprovisionMaxDelayMs: 1_000 }, deadlineMs: 1_000, answerWithinMs: 500 };

/** POSTs a user whose create the vendor commits but whose answer is dropped: accepted, the create pending. */
async function postLost(bridge: TestBridge, sandbox: VendorSandbox, fixture: VendorFixture, body: Record<string, unknown>) {
  sandbox.failNext({ action: fixture.createAction, commit: true, drop: true });
  const res = await bridge.as("t").post("/Users", body);
  expect(res.status).toBe(201);
  return res;
}

const enabled = (u: Record<string, unknown>) => u.UserStatus !== "Disabled" && u.Status !== "FREEZE";

describe.each(VENDORS)("$name: create committed, answer dropped", (fixture) => {
  it(
    "then DELETE: the vendor user is removed",
    () =>
      withSandboxBridge(fixture, SLOW_RETRY, async (bridge, sandbox) => {
        const res = await postLost(bridge, sandbox, fixture, user("leaver@example.com", { phoneNumbers: [{ value: "13800138000", type: "mobile" }] }));
        expect(sandbox.users.size).toBe(1); // committed at the vendor
        await bridge.as("t").delete(`/Users/${res.body.id}`).expect(204);
        await outboxDrained(bridge.stores.outbox, 10_000);
        expect([...sandbox.users.values()]).toEqual([]);
      }),
    30_000,
  );

  it(
    "then PATCH active=false: the vendor user is not left enabled",
    () =>
      withSandboxBridge(fixture, SLOW_RETRY, async (bridge, sandbox) => {
        const res = await postLost(bridge, sandbox, fixture, user("leaver@example.com", { phoneNumbers: [{ value: "13800138000", type: "mobile" }] }));
        await bridge
          .as("t")
          .patch(`/Users/${res.body.id}`, patchOp({ op: "replace", path: "active", value: false }))
          .expect(200);
        await outboxDrained(bridge.stores.outbox, 10_000);
        expect([...sandbox.users.values()].filter(enabled)).toEqual([]);
      }),
    30_000,
  );
});

/** A password no vendor user has yet, as an IdP's password sync sends it. */
const PASSWORD = "Lost-Create-Pw-7";
const carrying = (calls: { params: Record<string, unknown> }[], password: string) => calls.filter((c) => JSON.stringify(c.params).includes(password));

describe.each(VENDORS.filter((f) => mappingAt(f.vendor("http://127.0.0.1:1").mapping as string).has("password")))(
  "$name: create with a password committed, answer dropped",
  (fixture) => {
    it(
      "the retry links the vendor user and sends the password once in all, never again as a change",
      () =>
        withSandboxBridge(fixture, { retry: { firstDelayMs: 100, maxDelayMs: 100 }, deadlineMs: 1_000 }, async (bridge, sandbox) => {
          const res = await postLost(bridge, sandbox, fixture, person({ password: PASSWORD }));
          await outboxDrained(bridge.stores.outbox, 10_000);
          expect((await bridge.stores.links.of("t", [res.body.id])).get(res.body.id)).toMatchObject({ link: "created", state: "active" });
          // The create carried it (Huawei, CIAM), or the one call that sets it after the create (CCC, Volcengine).
          expect(carrying(sandbox.calls, PASSWORD)).toHaveLength(1);
        }),
      30_000,
    );

    it(
      "a password the IdP changed before the retry is sent as a change",
      () =>
        withSandboxBridge(fixture, SLOW_RETRY, async (bridge, sandbox) => {
          const res = await postLost(bridge, sandbox, fixture, person({ password: PASSWORD }));
          await bridge
            .as("t")
            .patch(`/Users/${res.body.id}`, patchOp({ op: "replace", path: "password", value: "Changed-Since-Pw-8" }))
            .expect(200);
          await outboxDrained(bridge.stores.outbox, 10_000);
          expect(carrying(sandbox.calls, "Changed-Since-Pw-8")).toHaveLength(1);
          expect(carrying(sandbox.calls, PASSWORD)).toHaveLength(fixture.name === "huawei-aicc" || fixture.name === "tencent-ciam" ? 1 : 0);
        }),
      30_000,
    );
  },
);

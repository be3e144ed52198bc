/**
 * A create the vendor commits but whose answer is lost (intent recorded, no link), followed by a DELETE or a
 * deactivation before the retry: the vendor user must not stay enabled.
 */
import { outboxDrained, patchOp, user } from "./helpers/bridge";
import { VENDORS, withSandboxBridge } from "./helpers/vendors";

// Retries far in the future: the IdP's next change comes before the outbox retries the lost create.
const SLOW_RETRY = { retry: { firstDelayMs: 60_000, maxDelayMs: 60_000, deprovisionMaxDelayMs: 1_000 }, deadlineMs: 1_000, answerWithinMs: 500 };

const enabled = (u: Record<string, unknown>) => u.UserStatus !== "Disabled" && u.Status !== "FREEZE";

describe.each(VENDORS)("$name: create committed, answer dropped", (fixture) => {
  it(
    "then DELETE: the vendor user is removed",
    () =>
      withSandboxBridge(fixture, SLOW_RETRY, async (bridge, sandbox) => {
        sandbox.failNext({ action: fixture.createAction, commit: true, drop: true });
        const res = await bridge.as("t").post("/Users", user("leaver@example.com", { phoneNumbers: [{ value: "13800138000", type: "mobile" }] }));
        expect(res.status).toBe(201);
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
        sandbox.failNext({ action: fixture.createAction, commit: true, drop: true });
        const res = await bridge.as("t").post("/Users", user("leaver@example.com", { phoneNumbers: [{ value: "13800138000", type: "mobile" }] }));
        expect(res.status).toBe(201);
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

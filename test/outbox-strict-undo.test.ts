/**
 * onVendorDelay: fail. A change the vendor did not confirm in time is undone — in the store and, since the
 * vendor may have applied it, at the vendor too.
 */
import { eventually, outboxDrained, patchOp, user } from "./helpers/bridge";
import { VENDORS, withSandboxBridge } from "./helpers/vendors";

const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
const STRICT = { onVendorDelay: "fail", deadlineMs: 1_000, retry: { firstDelayMs: 100, maxDelayMs: 1_000, deprovisionMaxDelayMs: 1_000 } };

it(
  "strict CIC: a reactivation that lands but is answered late is undone at the vendor too: the user ends disabled there",
  () =>
    withSandboxBridge(cic, STRICT, async (bridge, sandbox) => {
      const res = await bridge.as("t").post("/Users", user("mover@example.com")).expect(201);
      await bridge
        .as("t")
        .patch(`/Users/${res.body.id}`, patchOp({ op: "replace", path: "active", value: false }))
        .expect(200);
      await outboxDrained(bridge.stores.outbox);
      expect([...sandbox.users.values()].map((u) => u.UserStatus)).toEqual(["Disabled"]);
      // The enable commits at the vendor, its answer comes after the bridge's deadline.
      sandbox.failNext({ action: "UpdateUserStatus", commit: true, delayMs: 2_500 });
      expect((await bridge.as("t").patch(`/Users/${res.body.id}`, patchOp({ op: "replace", path: "active", value: true }))).status).toBe(504);
      // Once the held enable has landed, the undo's status call (sent again) leaves the vendor user disabled.
      await eventually(() => sandbox.callsOf("UpdateUserStatus").some((c) => c.answer !== "ok"));
      await outboxDrained(bridge.stores.outbox);
      expect((await bridge.as("t").get(`/Users/${res.body.id}`).expect(200)).body.active).toBe(false);
      await eventually(() => [...sandbox.users.values()].every((u) => u.UserStatus === "Disabled"));
    }),
  30_000,
);

it(
  "strict CIC: a POST whose create lands but whose answer is lost is answered 'Nothing was kept', and nothing is kept at the vendor either",
  () =>
    withSandboxBridge(cic, STRICT, async (bridge, sandbox) => {
      sandbox.failNext({ action: cic.createAction, commit: true, drop: true });
      const res = await bridge.as("t").post("/Users", user("ghost@example.com"));
      await outboxDrained(bridge.stores.outbox);
      const listed = (await bridge.as("t").get(`/Users`).expect(200)).body.totalResults;
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(listed).toBe(0);
      expect([...sandbox.users.values()]).toEqual([]);
    }),
  30_000,
);

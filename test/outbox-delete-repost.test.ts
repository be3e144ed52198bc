/** DELETE of a user while the vendor is down, then a re-POST of the same userName. */
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { outboxDrained, startTestBridge, user } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";

const QUICK = {
  retry: { firstDelayMs: 100, maxDelayMs: 500, deprovisionMaxDelayMs: 500 },
  circuit: { failures: 50, openMs: 300, maxOpenMs: 500 },
  answerWithinMs: 300,
  deadlineMs: 1000,
};

describe.each(VENDORS)("$name", (fixture) => {
  it("DELETE during an outage, re-POST of the same userName: the new user ends at the vendor", async () => {
    const sandbox = fixture.sandbox();
    const vendor = { ...fixture.vendor(await sandbox.listen()), ...QUICK };
    const bridge = await startTestBridge([{ name: "t", vendor }], { env: ENV, outbox: { pollMs: 20 } });
    try {
      const body = user("ada@example.com", { phoneNumbers: [{ value: "13800138000", type: "mobile" }] });
      const first = await bridge.as("t").post("/Users", body).expect(201);
      await outboxDrained(bridge.stores.outbox);
      sandbox.outage(true);
      await bridge.as("t").delete(`/Users/${first.body.id}`).expect(204);
      const second = await bridge.as("t").post("/Users", body);
      expect(second.status).toBe(201);
      sandbox.outage(false);
      await outboxDrained(bridge.stores.outbox, 20_000);
      const view = (await bridge.as("t").get(`/Users/${second.body.id}`).expect(200)).body[VENDOR_LINK];
      expect(await bridge.stores.outbox.list({ state: "failed", limit: 10 })).toEqual([]);
      expect(view.provisioning).toBe("applied");
      expect(sandbox.users.size).toBe(1);
    } finally {
      await bridge.close();
      await sandbox.close();
    }
  }, 40_000);
});

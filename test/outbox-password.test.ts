/**
 * A password change is kept only in the memory of the process that took the request. When another process
 * runs the work (the first one restarted, or lost the race for the retry), the password is not delivered,
 * and the work says so (failed, with the remedy) rather than "applied".
 */
import { sqliteStores } from "../src/store/open";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { outboxDrained, patchOp, startTestBridge, user } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ccc = VENDORS.find((v) => v.name === "aliyun-ccc")!;
const QUICK = {
  retry: { firstDelayMs: 200, maxDelayMs: 500, deprovisionMaxDelayMs: 500 },
  circuit: { failures: 50, openMs: 100, maxOpenMs: 200 },
  answerWithinMs: 300,
  deadlineMs: 1000,
};

it.each([
  ["A restarted", true],
  ["A alive, B won the retry", false],
])(
  "%s: a password change delivered by another replica reaches the vendor (or stays pending)",
  async (_what, restart) => {
    const sandbox = ccc.sandbox();
    const url = await sandbox.listen();
    const file = join(mkdtempSync(join(tmpdir(), "rv-")), "bridge.db");
    const storeA = sqliteStores(file);
    await storeA.admin.migrate();
    const storeB = sqliteStores(file);
    const vendor = { ...ccc.vendor(url), ...QUICK };
    const tokenless = [{ name: "t", token: "tok-t", vendor }];
    const a = await startTestBridge(tokenless, { env: ENV, stores: storeA, outbox: { pollMs: restart ? 20 : 60_000 } });
    const b = await startTestBridge(tokenless, { env: ENV, stores: storeB, outbox: { pollMs: 20 } });
    try {
      const res = await a
        .as("t")
        .post("/Users", user("pw@example.com", { phoneNumbers: [{ value: "13800138000", type: "mobile" }] }))
        .expect(201);
      await outboxDrained(storeA.outbox);
      const before = sandbox.callsOf("UpdateLoginProfile").length;
      sandbox.outage(true);
      await a
        .as("t")
        .patch(`/Users/${res.body.id}`, patchOp({ op: "replace", path: "password", value: "N3w-Secret-after-leak!" }))
        .expect(200);
      if (restart) await a.close(); // replica A is restarted (rolling deploy); B carries on
      sandbox.outage(false);
      await outboxDrained(storeB.outbox, 15_000);
      const view = (await b.as("t").get(`/Users/${res.body.id}`).expect(200)).body[VENDOR_LINK];
      const after = sandbox.callsOf("UpdateLoginProfile").slice(before);
      const sent = after.filter((c) => c.answer === "ok" && c.params.Password === "N3w-Secret-after-leak!").length;
      // Either the password reached the vendor, or the user's work says it did not, and why.
      if (view.provisioning === "applied") expect(sent).toBeGreaterThan(0);
      else
        expect(view).toMatchObject({ provisioning: "failed", provisioningReason: expect.stringMatching(/password sent with this change was not delivered/) });
    } finally {
      if (!restart) await a.close();
      await b.close();
      await storeB.admin.close();
      await storeA.admin.close();
      await sandbox.close();
    }
  },
  40_000,
);

/** How a run's end becomes the row's next state: the waits a deprovisioning may be given, and when a refusal ends it. */
import { DEPROVISION_REFUSALS, endOf, settlementOf, viewOf } from "../src/provisioning/outbox";
import { HeldBack } from "../src/provisioning/rate-limiter";
import { VendorRefusal } from "../src/provisioning/refusal";
import type { WorkItem } from "../src/store/types";
import { POLICY as policy, workItem } from "./helpers/work-items";

const NOW = 1_700_000_000_000;
const row = (extra: Partial<WorkItem> = {}) => workItem(NOW, extra);

describe("the outbox's settlement", () => {
  it("a deprovisioning the circuit holds for five minutes is looked at again within deprovisionMaxDelayMs; other work waits the circuit out", () => {
    const held = endOf(new HeldBack(300_000, "circuit open"));
    const leaver = settlementOf(row({ deprovision: true, horizonAt: undefined }), held, policy, NOW);
    expect(leaver).toMatchObject({ state: "pending", retryInMs: policy.deprovisionMaxDelayMs, attempted: false });
    const other = settlementOf(row(), held, policy, NOW);
    expect(other).toMatchObject({ state: "pending", attempted: false });
    expect((other as { retryInMs: number }).retryInMs).toBeGreaterThanOrEqual(300_000);
    // Told the next probe's time: comes back then.
    expect((settlementOf(row({ deprovision: true }), endOf(new HeldBack(2_000, "circuit open")), policy, NOW) as { retryInMs: number }).retryInMs).toBeLessThan(
      2_500,
    );
  });

  it(`a deprovisioning the vendor refuses is tried ${DEPROVISION_REFUSALS} times, then a dead letter whose remedy says the leaver may still have access`, () => {
    const refused = endOf(
      new VendorRefusal("invalid", "tencent-cic refused the user: InvalidParameter.UserAlreadyExistsGroup.", "InvalidParameter.UserAlreadyExistsGroup"),
    );
    const leaver = (attempts: number) => row({ deprovision: true, horizonAt: undefined, attempts });
    for (let attempts = 0; attempts < DEPROVISION_REFUSALS - 1; attempts++)
      expect(settlementOf(leaver(attempts), refused, policy, NOW)).toMatchObject({ state: "pending", attempted: true });
    const last = settlementOf(leaver(DEPROVISION_REFUSALS - 1), refused, policy, NOW);
    expect(last).toMatchObject({ state: "failed", code: "InvalidParameter.UserAlreadyExistsGroup" });
    const view = viewOf({ ...leaver(DEPROVISION_REFUSALS), state: "failed", lastDetail: "refused", lastCode: "InvalidParameter.UserAlreadyExistsGroup" });
    expect(view).toMatchObject({ state: "failed", vendorCode: "InvalidParameter.UserAlreadyExistsGroup" });
    expect(view.remedy).toMatch(/leaver may still have access/);
    expect(view.remedy).toMatch(/outbox retry/);
    // Other work refused is a dead letter at once, with the ordinary remedy.
    expect(settlementOf(row(), refused, policy, NOW)).toMatchObject({ state: "failed" });
    expect(viewOf({ ...row(), state: "failed" }).remedy).not.toMatch(/leaver/);
  });
});

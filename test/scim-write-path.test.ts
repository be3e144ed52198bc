/**
 * One SCIM write path: a request reads its resource once and records its change in one write. Counted here
 * through the ports the SCIM side is given (the outbox worker's own calls to the vendor side are not).
 */
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import type { Stores } from "../src/store/stores";
import { outboxDrained, patchOp, startTestBridge, type TestBridge } from "./helpers/bridge";
import { ENV, person, VENDORS } from "./helpers/vendors";

/** The stores, with every port method call noted as `port.method` while `counting` is on. */
function counted(stores: Stores): { stores: Stores; calls: string[]; counting: { on: boolean } } {
  const calls: string[] = [];
  const counting = { on: false };
  const wrap = <T extends object>(port: T, name: string): T =>
    new Proxy(port, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (counting.on) calls.push(`${name}.${String(key)}`);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const ports = Object.fromEntries(Object.entries(stores).map(([name, port]) => [name, wrap(port as object, name)])) as unknown as Stores;
  return { stores: ports, calls, counting };
}

describe("the SCIM write path", () => {
  const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
  let bridge: TestBridge;
  let close: () => Promise<void>;
  let probe: ReturnType<typeof counted>;
  let sandbox: VendorSandbox;

  beforeEach(async () => {
    sandbox = cic.sandbox();
    const vendor = cic.vendor(await sandbox.listen());
    bridge = await startTestBridge([{ name: "t", vendor }], {
      env: ENV,
      outbox: { pollMs: 20 },
      scimStores: (stores) => (probe = counted(stores)).stores,
    });
    close = async () => {
      await bridge.close();
      await sandbox.close();
    };
  });
  afterEach(() => close());

  it("deactivates a user with one read of it, one write with its outbox work, and at most 6 store calls", async () => {
    const created = await bridge.as("t").post("/Users", person()).expect(201);
    await outboxDrained(bridge.stores.outbox);
    probe.counting.on = true;
    const res = await bridge.as("t").patch(`/Users/${created.body.id}`, patchOp({ op: "replace", path: "active", value: false }));
    probe.counting.on = false;
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
    expect(res.body[VENDOR_LINK].provisioning).toBe("applied");
    expect(probe.calls.filter((c) => c === "resources.get")).toHaveLength(1);
    // The user and its outbox row are one write: nothing else writes.
    expect(probe.calls.filter((c) => /\.(replace|create|remove|record|add)$/.test(c))).toEqual(["resources.replace"]);
    expect(probe.calls.length).toBeLessThanOrEqual(6);
    expect([...sandbox.users.values()].map((u) => u.UserStatus)).toEqual(["Disabled"]);
  });
});

/** An operation's `secrets` (answer paths such as CIC's initial password) leave the answer as soon as it arrives. */
import { createLogger } from "../src/log";
import { KeyedLock } from "../src/lib/keyed-lock";
import { CredentialGovernor } from "../src/provisioning/rate-limiter";
import { mappingAt } from "../src/provisioning/targets";
import { VendorCalls } from "../src/provisioning/vendor-calls";
import { SqliteStore } from "../src/store/sqlite";
import type { VendorConnector } from "../src/vendors/types";
import { configFrom } from "../src/config/load";

it("CIC's initial password in the CreateUser answer never reaches the rest of the bridge", async () => {
  const mapping = mappingAt("mappings/tencent-cic.yaml");
  expect(mapping.operation("create").secrets).toEqual(["UserInfo.Password"]);
  const connector: VendorConnector = {
    vendor: "tencent",
    prepare: async () => ({ method: "POST", host: "h", path: "/", headers: {}, body: "" }) as never,
    invoke: async () => ({ kind: "success", status: 200, result: { UserInfo: { UserId: "u-1", Password: "Init!s3cret" }, RequestId: "r" } }),
    close: async () => undefined,
  };
  const store = new SqliteStore(":memory:");
  await store.migrate();
  const connection = configFrom({
    targets: [
      {
        name: "t",
        tokens: [{ sha256: "d".repeat(64) }],
        vendor: { mapping: "mappings/tencent-cic.yaml", credentials: { secretId: "A", secretKey: "B" }, settings: { CIC_ZONE_ID: "z" } },
      },
    ],
  }).targets[0]!.vendor!;
  const calls = new VendorCalls({
    target: "t",
    mapping,
    connector,
    connection,
    governor: new CredentialGovernor(store, "c-test", { perSecond: 100 }, { failures: 5, openMs: 1000, maxOpenMs: 1000, probeMs: 1000, probeEveryMs: 1000 }),
    store,
    log: createLogger("error"),
    accountTargets: ["t"],
    adoptionLock: new KeyedLock(),
    account: "a",
  });
  const built = calls.build("create", { userName: "ann@example.com", id: "s-1", name: { givenName: "A", familyName: "B" } });
  const outcome = await calls.call(built, { target: "t", requestId: "q", signal: AbortSignal.timeout(5000) }, "s-1");
  expect(outcome).toMatchObject({ kind: "success", result: { UserInfo: { UserId: "u-1" } } });
  expect(JSON.stringify(outcome)).not.toContain("Init!s3cret");
  await store.close();
});

/** The store write commits, then the request's wait (settle) hits a store blip: the IdP is told 503. */
import { sqliteStores } from "../src/store/open";
import { StoreUnavailableError } from "../src/store/types";
import { startTestBridge, user } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";

const cic = VENDORS.find((v) => v.name === "tencent-cic")!;

it("a POST whose user was recorded is not answered 503 (its retry would be 409)", async () => {
  const sandbox = cic.sandbox();
  const store = sqliteStores(":memory:");
  await store.admin.migrate();
  let failWorkOf = 0;
  const workOf = store.outbox.workOf.bind(store.outbox);
  store.outbox.workOf = async (...args) => {
    if (failWorkOf-- > 0) throw new StoreUnavailableError("the SQLite file is locked by another process", new Error("SQLITE_BUSY"));
    return workOf(...args);
  };
  const bridge = await startTestBridge([{ name: "t", vendor: cic.vendor(await sandbox.listen()) }], { env: ENV, stores: store });
  try {
    failWorkOf = 1;
    const first = await bridge.as("t").post("/Users", user("blip@example.com"));
    const stored = (await bridge.as("t").get("/Users").expect(200)).body.totalResults;
    // Recorded, so answered as kept (pending): never a 503 whose retry would meet 409.
    expect(stored).toBe(1);
    expect(first.status).toBe(201);
  } finally {
    await bridge.close();
    await store.admin.close();
    await sandbox.close();
  }
}, 20_000);

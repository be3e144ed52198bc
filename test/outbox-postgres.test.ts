/**
 * The outbox on PostgreSQL inside one bridge: a run a request starts never borrows the connection that
 * holds the request's lock (the request may stop waiting and give it back while the run goes on), and a
 * pool smaller than the number of requests waiting on the vendor slows answers down but never deadlocks.
 */
import { randomBytes } from "node:crypto";
import { postgresStores } from "../src/store/open";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { outboxDrained, startTestBridge, user } from "./helpers/bridge";
import { dropSchema, POSTGRES_URL } from "./helpers/stores";
import { ENV, VENDORS } from "./helpers/vendors";

const cic = VENDORS.find((v) => v.name === "tencent-cic")!;

it("with a pool of 2 and 8 creates waiting on a slow vendor at once: every request is answered, every user delivered once", async () => {
  const sandbox = cic.sandbox();
  const schema = `t_obpg_${randomBytes(5).toString("hex")}`;
  const store = postgresStores(POSTGRES_URL, { schema, poolSize: 2 });
  await store.admin.migrate();
  const bridge = await startTestBridge([{ name: "t", vendor: { ...cic.vendor(await sandbox.listen()), answerWithinMs: 400, retry: { firstDelayMs: 50 } } }], {
    env: ENV,
    stores: store,
  });
  try {
    // The first creates are held by the vendor past the answer window: their runs go on after the answers.
    sandbox.failNext({ action: "CreateUser", status: 200, code: "InternalError", message: "slow", commit: true, delayMs: 1_000, times: 3 });
    const names = Array.from({ length: 8 }, (_, i) => `pool-${i}@example.com`);
    const answers = await Promise.all(names.map((n) => bridge.as("t").post("/Users", user(n))));
    expect(answers.map((a) => a.status)).toEqual(names.map(() => 201));
    await outboxDrained(store.outbox, 30_000);
    // Every run's end was written (none left to a lease running out).
    expect(bridge.logs.filter((l) => l.includes("could not record the end of a run"))).toEqual([]);
    for (const a of answers) expect((await bridge.as("t").get(`/Users/${a.body.id}`).expect(200)).body[VENDOR_LINK].provisioning).toBe("applied");
    expect([...sandbox.users.values()].map((u) => String(u.UserName)).sort()).toEqual([...names].sort());
    expect((await store.links.all("t")).length).toBe(names.length);
  } finally {
    await bridge.close();
    await sandbox.close();
    await store.admin.close();
    await dropSchema(schema);
  }
}, 60_000);

it("work detached inside an exclusive runs on a connection of its own: it waits for the lock like any other session", async () => {
  const schema = `t_obpg_${randomBytes(5).toString("hex")}`;
  const store = postgresStores(POSTGRES_URL, { schema, poolSize: 3 });
  await store.admin.migrate();
  try {
    const order: string[] = [];
    let inner!: Promise<void>;
    await store.admin.exclusive("resource", async () => {
      // Not detached, this would be the same session, re-entering the lock at once.
      inner = store.admin.detached(() => store.admin.exclusive("resource", async () => void order.push("detached work")));
      await new Promise((r) => setTimeout(r, 50));
      order.push("lock holder done");
    });
    await inner;
    expect(order).toEqual(["lock holder done", "detached work"]);
  } finally {
    await store.admin.close();
    await dropSchema(schema);
  }
});

/**
 * Scale-out: two bridge processes (here two apps with their own connection pools) share one PostgreSQL
 * database. Uniqueness and membership hold across them; a PATCH that loses a race is read and applied again.
 */
import { CORE_GROUP, patchOp, startTestBridge, user, type TestBridge } from "./helpers/bridge";
import { STORES } from "./helpers/stores";

const postgres = STORES.find((s) => s.name === "postgres")!;

describe("two bridges on one PostgreSQL database", () => {
  let bridges: TestBridge[];
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    const opened = await postgres.open();
    dispose = opened.dispose;
    const target = [{ name: "acme", token: "replica-token" }];
    bridges = [await startTestBridge(target, { stores: opened.store }), await startTestBridge(target, { stores: await opened.another() })];
  });
  afterEach(async () => {
    for (const b of bridges) await b.close();
    await dispose();
  });

  const send = (i: number, method: string, path: string, body: unknown) =>
    fetch(`${bridges[i % 2]!.base}${path}`, {
      method,
      headers: { authorization: "Bearer replica-token", "content-type": "application/scim+json" },
      body: JSON.stringify(body),
    });

  it("serves SCIM: create on one, read, filter and page on the other", async () => {
    const created = (await bridges[0]!.as("acme").post("/Users", user("pg@example.com")).expect(201)).body;
    expect((await bridges[1]!.as("acme").get(`/Users/${created.id}`).expect(200)).body.userName).toBe("pg@example.com");
    for (let i = 0; i < 4; i++)
      await bridges[i % 2]!.as("acme")
        .post("/Users", user(`pg${i}@example.com`))
        .expect(201);
    const found = await bridges[1]!.as("acme").get('/Users?filter=emails.value co "pg1" or userName eq "PG@example.com"').expect(200);
    expect(found.body.totalResults).toBe(2);
    const page = await bridges[0]!.as("acme").get("/Users?startIndex=2&count=2").expect(200);
    expect(page.body).toMatchObject({ totalResults: 5, startIndex: 2, itemsPerPage: 2 });
  });

  it("50 simultaneous POSTs of one userName across both bridges give exactly one 201", async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => send(i, "POST", "/Users", user("race@example.com"))));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
  });

  it("50 concurrent member-adding PATCHes across both bridges leave 50 members, on both paths", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 50; i++)
      ids.push(
        (
          await bridges[i % 2]!.as("acme")
            .post("/Users", user(`m${i}@example.com`))
            .expect(201)
        ).body.id,
      );
    const fast = (
      await bridges[0]!
        .as("acme")
        .post("/Groups", { schemas: [CORE_GROUP], displayName: "Fast" })
        .expect(201)
    ).body;
    const rmw = (
      await bridges[0]!
        .as("acme")
        .post("/Groups", { schemas: [CORE_GROUP], displayName: "ReadModifyWrite" })
        .expect(201)
    ).body;
    const results = await Promise.all([
      ...ids.map((id, i) => send(i, "PATCH", `/Groups/${fast.id}`, patchOp({ op: "add", path: "members", value: [{ value: id }] }))),
      // externalId with members goes through scimmy's read-modify-write: races between processes are retried
      ...ids.map((id, i) =>
        send(
          i + 1,
          "PATCH",
          `/Groups/${rmw.id}`,
          patchOp({ op: "add", path: "members", value: [{ value: id }] }, { op: "add", path: "externalId", value: `e${i}` }),
        ),
      ),
    ]);
    expect(results.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    for (const g of [fast, rmw]) expect((await bridges[1]!.as("acme").get(`/Groups/${g.id}`).expect(200)).body.members).toHaveLength(50);
  });
});

/**
 * A filter no index answers: right users at 10,000 rows, other requests answered while it reads the target,
 * and the target's budget (rows: 400 invalidFilter before reading; time: 503), each with a detail to act on.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqliteStores } from "../src/store/open";
import type { Stores } from "../src/store/stores";
import { CORE_USER, startTestBridge, type TestBridge } from "./helpers/bridge";

const USERS = 10_000;
const filterPath = (f: string) => `/Users?count=100&filter=${encodeURIComponent(f)}`;
const dir = mkdtempSync(join(tmpdir(), "filter-scan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([
  // Chunks of the smallest size: the scan gives the event loop back about a hundred times.
  { how: "on the event loop, in chunks", open: () => sqliteStores(":memory:", { scanChunkMs: 0.01 }) },
  { how: "in a worker thread", open: () => sqliteStores(join(dir, "scan.db")) },
])("a filter no index answers, $how", ({ open }) => {
  let bridge: TestBridge;
  let store: Stores;
  /** Resolved when the store is asked for a list (the filter's scan has begun). */
  let listCalled: () => void = () => undefined;

  beforeAll(async () => {
    store = open();
    await store.admin.migrate();
    for (let i = 0; i < USERS; i++) {
      const userName = `user${i}@example.com`;
      await store.resources.create(
        "acme",
        "User",
        `id-${i}`,
        { schemas: [CORE_USER], userName, title: "Engineer", name: { familyName: `User ${i}` } },
        { userName, emails: [] },
      );
    }
    for (const target of ["tight", "quick"])
      for (let i = 0; i < 10; i++)
        await store.resources.create(
          target,
          "User",
          `${target}-${i}`,
          { schemas: [CORE_USER], userName: `u${i}`, title: "Engineer" },
          { userName: `u${i}`, emails: [] },
        );
    const list = store.resources.list.bind(store.resources);
    jest.spyOn(store.resources, "list").mockImplementation((...args) => {
      listCalled();
      return list(...args);
    });
    bridge = await startTestBridge([{ name: "acme" }, { name: "tight", filterBudget: { rows: 5 } }, { name: "quick", filterBudget: { ms: 0 } }], {
      stores: store,
    });
  }, 60_000);
  afterAll(async () => {
    await bridge.close();
    await store.admin.close();
  });

  it("finds the right users at 10,000 rows, and a GET by id is answered while it reads them", async () => {
    const started = new Promise<void>((resolve) => (listCalled = resolve));
    let filterAnswered = false;
    const filtered = bridge
      .as("acme")
      .get(filterPath('name.familyName co "User 999"'))
      .then((res) => {
        filterAnswered = true;
        return res;
      });
    await started;
    listCalled = () => undefined;
    const one = await bridge.as("acme").get("/Users/id-42").expect(200);
    expect(one.body.userName).toBe("user42@example.com");
    expect(filterAnswered).toBe(false);

    const res = await filtered;
    expect(res.status).toBe(200);
    const expected = [999, 9990, 9991, 9992, 9993, 9994, 9995, 9996, 9997, 9998, 9999].map((i) => `user${i}@example.com`);
    expect(res.body.totalResults).toBe(expected.length);
    expect(res.body.Resources.map((r: { userName: string }) => r.userName)).toEqual(expected);
  });

  it("pages a scanned filter with the right total", async () => {
    const res = await bridge
      .as("acme")
      .get(`/Users?startIndex=9991&count=5&filter=${encodeURIComponent('title eq "engineer"')}`)
      .expect(200);
    expect(res.body).toMatchObject({ totalResults: USERS, startIndex: 9991, itemsPerPage: 5 });
    expect(res.body.Resources.map((r: { id: string }) => r.id)).toEqual(["id-9990", "id-9991", "id-9992", "id-9993", "id-9994"]);
  });

  it("orders a scanned filter by a column", async () => {
    const names = Array.from({ length: USERS }, (_, i) => `user${i}@example.com`)
      .sort()
      .reverse();
    const res = await bridge
      .as("acme")
      .get(`/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=3&filter=${encodeURIComponent('title eq "engineer"')}`)
      .expect(200);
    expect(res.body.totalResults).toBe(USERS);
    expect(res.body.Resources.map((r: { userName: string }) => r.userName)).toEqual(names.slice(1, 4));
    const one = await bridge
      .as("acme")
      .get(`/Users?sortBy=externalId&count=2&filter=${encodeURIComponent('name.familyName ew "9999"')}`)
      .expect(200);
    expect(one.body.Resources.map((r: { userName: string }) => r.userName)).toEqual(["user9999@example.com"]);
  });

  it("a target holding more rows than its budget answers 400 invalidFilter naming the indexed attributes; indexed filters still work", async () => {
    const res = await bridge.as("tight").get(filterPath('title eq "Engineer"')).expect(400);
    expect(res.body.scimType).toBe("invalidFilter");
    expect(res.body.detail).toContain("reading all 10 User resources of this target is more than it allows (5)");
    expect(res.body.detail).toContain("userName");
    expect(res.body.detail).toContain("meta.lastModified");
    const indexed = await bridge.as("tight").get(filterPath('userName eq "u3"')).expect(200);
    expect(indexed.body.totalResults).toBe(1);
  });

  it("a filter that runs past the time budget answers 503 with Retry-After and what to do", async () => {
    const res = await bridge.as("quick").get(filterPath('title eq "Engineer"')).expect(503);
    expect(res.headers["retry-after"]).toBeDefined();
    expect(res.body.detail).toContain("took longer than this target allows (0 ms)");
    expect(res.body.detail).toContain("externalId");
  });
});

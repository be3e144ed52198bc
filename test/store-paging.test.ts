/**
 * Paging in insertion order at any depth: walking every page, jumping to the last, and paging again after
 * writes (which move positions) answers what counting from the first resource would.
 */
import type { Stores } from "../src/store/stores";
import { STORES } from "./helpers/stores";

const USERS = 1_000;

describe.each(STORES)("$name store", (factory) => {
  let opened: Awaited<ReturnType<typeof factory.open>>;
  let store: Stores;
  beforeAll(async () => {
    opened = await factory.open();
    store = opened.store;
    for (let i = 0; i < USERS; i++) await store.resources.create("t", "User", `id-${i}`, { userName: `u${i}` }, { userName: `u${i}`, emails: [] });
  }, 60_000);
  afterAll(async () => opened.dispose());

  const ids = async (startIndex: number, count: number) => {
    const page = await store.resources.list("t", "User", { startIndex, count });
    return { total: page.total, ids: page.resources.map((r) => r.id) };
  };
  const expected = (from: number, to: number, skip: Set<number> = new Set()) =>
    Array.from({ length: USERS }, (_, i) => i)
      .filter((i) => !skip.has(i))
      .slice(from, to)
      .map((i) => `id-${i}`);

  it("walks every page in order, and answers a jump to the end or past it", async () => {
    for (let start = 1; start <= USERS; start += 100) expect(await ids(start, 100)).toEqual({ total: USERS, ids: expected(start - 1, start + 99) });
    expect(await ids(USERS - 99, 100)).toEqual({ total: USERS, ids: expected(USERS - 100, USERS) });
    expect(await ids(950, 10)).toEqual({ total: USERS, ids: expected(949, 959) });
    expect(await ids(USERS + 1, 100)).toEqual({ total: USERS, ids: [] });
  });

  it("pages the same way after deletes and creates move positions", async () => {
    await ids(301, 100); // remembered where page 4 starts
    await store.resources.remove("t", "User", "id-5");
    await store.resources.remove("t", "User", "id-350");
    const gone = new Set([5, 350]);
    expect(await ids(301, 100)).toEqual({ total: USERS - 2, ids: expected(300, 400, gone) });
    expect(await ids(401, 100)).toEqual({ total: USERS - 2, ids: expected(400, 500, gone) });
    await store.resources.create("t", "User", "id-new", { userName: "new" }, { userName: "new", emails: [] });
    const last = await ids(USERS - 2, 100);
    expect(last).toEqual({ total: USERS - 1, ids: [...expected(USERS - 3, USERS, gone), "id-new"] });
  });
});

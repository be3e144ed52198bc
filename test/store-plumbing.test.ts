/**
 * The plumbing under every aggregate: SQLite's one connection serves the whole process, so a transaction
 * whose body awaits must keep every other statement out of it; PostgreSQL's statements are written with
 * named parameters and sent with positional ones.
 */
import { sqliteStores } from "../src/store/open";
import { positional } from "../src/store/postgres/database";
import { SqliteDatabase } from "../src/store/sqlite/database";

describe("SQLite: one connection, transactions that await", () => {
  let db: SqliteDatabase;
  beforeEach(async () => {
    db = new SqliteDatabase(":memory:");
    await db.migrate();
  });
  afterEach(() => db.close());

  it("a statement sent while a transaction waits runs after it, neither inside it nor lost with its rollback", async () => {
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    let inside!: () => void;
    const started = new Promise<void>((resolve) => (inside = resolve));
    const failing = db.transaction(async (tx) => {
      await tx.run("INSERT INTO credential_state (credential, state) VALUES ('in-transaction', '')");
      inside();
      await paused;
      throw new Error("the transaction fails");
    });
    await started;
    const outside = db.run("INSERT INTO credential_state (credential, state) VALUES ('outside', '')");
    const seen = db.rows<{ credential: string }>("SELECT credential FROM credential_state ORDER BY credential");
    resume();
    await expect(failing).rejects.toThrow("the transaction fails");
    expect(await outside).toBe(1);
    // The read waited for the end: it never saw the transaction's uncommitted row.
    expect((await seen).map((r) => r.credential)).toEqual(["outside"]);
    expect((await db.rows<{ credential: string }>("SELECT credential FROM credential_state")).map((r) => r.credential)).toEqual(["outside"]);
  });

  it("transactions started together run one after another", async () => {
    const order: string[] = [];
    const step = (name: string) =>
      db.transaction(async (tx) => {
        order.push(`${name} begins`);
        await tx.run("INSERT INTO credential_state (credential, state) VALUES (:name, '')", { name });
        await new Promise((resolve) => setImmediate(resolve));
        order.push(`${name} ends`);
      });
    await Promise.all([step("a"), step("b"), step("c")]);
    expect(order).toEqual(["a begins", "a ends", "b begins", "b ends", "c begins", "c ends"]);
  });
});

it("SQLite: the count a list keeps is the table's, however lists and writes interleave", async () => {
  const stores = sqliteStores(":memory:");
  await stores.admin.migrate();
  try {
    const page = () => stores.resources.list("t", "User", { startIndex: 1, count: 1 });
    const create = (i: number) => stores.resources.create("t", "User", `u-${i}`, { userName: `u${i}` }, { userName: `u${i}`, emails: [] });
    // The first list is read while the first create's transaction is open: it counts once that has committed.
    await Promise.all([create(0), page()]);
    await Promise.all(Array.from({ length: 39 }, (_, i) => Promise.all([create(i + 1), page()])));
    await Promise.all(Array.from({ length: 10 }, (_, i) => Promise.all([stores.resources.remove("t", "User", `u-${i}`), page()])));
    expect((await page()).total).toBe(30);
    const all = await stores.resources.list("t", "User", { startIndex: 1, count: 100, predicate: () => true });
    expect(all.total).toBe(30);
  } finally {
    await stores.admin.close();
  }
});

describe("PostgreSQL: named parameters", () => {
  it("become positional ones, each name once, casts left alone", () => {
    expect(positional("SELECT CAST(:a AS jsonb), '{}'::jsonb, :b::bigint WHERE x = :a AND y = :missing", { a: 1, b: [2] })).toEqual({
      text: "SELECT CAST($1 AS jsonb), '{}'::jsonb, $2::bigint WHERE x = $1 AND y = $3",
      values: [1, [2], null],
    });
  });
});

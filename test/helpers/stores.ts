/** The two stores, fresh for each test: SQLite in memory, and PostgreSQL (the real server) in a schema of its own. */
import { randomBytes } from "node:crypto";
import { PostgresStore } from "../../src/store/postgres";
import { SqliteStore } from "../../src/store/sqlite";
import type { Store } from "../../src/store/types";

export const POSTGRES_URL = process.env.SCIM_BRIDGE_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface StoreFactory {
  name: "sqlite" | "postgres";
  open(): Promise<{ store: Store; another(): Promise<Store>; dispose(): Promise<void> }>;
}

export const STORES: StoreFactory[] = [
  {
    name: "sqlite",
    async open() {
      const store = new SqliteStore(":memory:");
      await store.migrate();
      return { store, another: async () => store, dispose: () => store.close() };
    },
  },
  {
    name: "postgres",
    async open() {
      const schema = `t_${randomBytes(6).toString("hex")}`;
      const store = new PostgresStore(POSTGRES_URL, { schema });
      await store.migrate();
      const others: PostgresStore[] = [];
      return {
        store,
        /** Another process's view of the same database: its own pool, the same schema. */
        async another() {
          const other = new PostgresStore(POSTGRES_URL, { schema });
          await other.migrate();
          others.push(other);
          return other;
        },
        async dispose() {
          for (const o of others) await o.close();
          await store.dropSchema();
          await store.close();
        },
      };
    },
  },
];

/**
 * A fresh store of `factory`'s kind for each test of the calling describe block: `current.store`, and
 * `current.another()` for a second process's view of the same database.
 */
export function freshStoreEach(factory: StoreFactory): { store: Store; another(): Promise<Store> } {
  const current = {} as { store: Store; another(): Promise<Store>; dispose(): Promise<void> };
  beforeEach(async () => Object.assign(current, await factory.open()));
  afterEach(async () => current.dispose());
  return current;
}

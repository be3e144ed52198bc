/** The two stores, fresh for each test: SQLite in memory, and PostgreSQL (the real server) in a schema of its own. */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { postgresStores, sqliteStores } from "../../src/store/open";
import type { Stores } from "../../src/store/stores";
import type { WorkOrder } from "../../src/store/types";

export const POSTGRES_URL = process.env.SCIM_BRIDGE_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Drops a test's own PostgreSQL schema, with everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

export interface StoreFactory {
  name: "sqlite" | "postgres";
  open(): Promise<{ store: Stores; another(): Promise<Stores>; dispose(): Promise<void> }>;
}

export const STORES: StoreFactory[] = [
  {
    name: "sqlite",
    async open() {
      const store = sqliteStores(":memory:");
      await store.admin.migrate();
      return { store, another: async () => store, dispose: () => store.admin.close() };
    },
  },
  {
    name: "postgres",
    async open() {
      const schema = `t_${randomBytes(6).toString("hex")}`;
      const store = postgresStores(POSTGRES_URL, { schema });
      await store.admin.migrate();
      const others: Stores[] = [];
      return {
        store,
        /** Another process's view of the same database: its own pool, the same schema. */
        async another() {
          const other = postgresStores(POSTGRES_URL, { schema });
          await other.admin.migrate();
          others.push(other);
          return other;
        },
        async dispose() {
          for (const o of others) await o.admin.close();
          await dropSchema(schema);
          await store.admin.close();
        },
      };
    },
  },
];

/**
 * A fresh store of `factory`'s kind for each test of the calling describe block: `current.store`, and
 * `current.another()` for a second process's view of the same database.
 */
export function freshStoreEach(factory: StoreFactory): { store: Stores; another(): Promise<Stores> } {
  const current = {} as { store: Stores; another(): Promise<Stores>; dispose(): Promise<void> };
  beforeEach(async () => Object.assign(current, await factory.open()));
  afterEach(async () => current.dispose());
  return current;
}

/** Records vendor work for `scimId` as a change of its user would: the user created with it, or replaced with it. */
export async function recordWork(store: Stores, target: string, scimId: string, order: WorkOrder): Promise<void> {
  const doc = { userName: scimId };
  const keys = { userName: scimId, emails: [] };
  if (await store.resources.get(target, "User", scimId)) await store.resources.replace(target, "User", scimId, doc, keys, { work: order });
  else await store.resources.create(target, "User", scimId, doc, keys, order);
}

/** Opens the configured store, every port over one database, and brings its schema up to date. */
import type { StoreConfig } from "../config/schema";
import type { Logger } from "../log";
import { PostgresDatabase, type PostgresOptions } from "./postgres/database";
import { PostgresLists } from "./resources/postgres-lists";
import { SqliteLists } from "./resources/sqlite-lists";
import { SqliteDatabase, type SqliteOptions } from "./sqlite/database";
import { storesOver, type Stores } from "./stores";

/** The ports over a SQLite file (or ":memory:"), its schema not yet migrated. */
export function sqliteStores(path: string, options: SqliteOptions = {}): Stores {
  const db = new SqliteDatabase(path, options);
  return storesOver(db, new SqliteLists(db, options.scanChunkMs));
}

/** The ports over a PostgreSQL database, its schema not yet migrated. */
export function postgresStores(url: string, options: PostgresOptions = {}): Stores {
  const db = new PostgresDatabase(url, options);
  return storesOver(db, new PostgresLists(db));
}

export async function openStores(config: StoreConfig, log?: Logger): Promise<Stores> {
  const stores = config.kind === "postgres" ? postgresStores(config.url, { poolSize: config.poolSize, schema: config.schema, log }) : sqliteStores(config.path);
  try {
    await stores.admin.migrate();
  } catch (error) {
    // A schema that cannot be brought up to date (or is newer than this release) leaves nothing open.
    await stores.admin.close().catch(() => undefined);
    throw error;
  }
  return stores;
}

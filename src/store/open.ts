/** Opens the configured store and brings its schema up to date. */
import type { StoreConfig } from "../config/schema";
import type { Logger } from "../log";
import { PostgresStore } from "./postgres";
import { SqliteStore } from "./sqlite";
import type { Store } from "./types";

export async function openStore(config: StoreConfig, log?: Logger): Promise<Store> {
  const store =
    config.kind === "postgres" ? new PostgresStore(config.url, { poolSize: config.poolSize, schema: config.schema, log }) : new SqliteStore(config.path);
  try {
    await store.migrate();
  } catch (error) {
    // A schema that cannot be brought up to date (or is newer than this release) leaves nothing open.
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}

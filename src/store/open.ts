/** Opens the configured store and brings its schema up to date. */
import type { StoreConfig } from "../config/schema";
import { PostgresStore } from "./postgres";
import { SqliteStore } from "./sqlite";
import type { Store } from "./types";

export async function openStore(config: StoreConfig): Promise<Store> {
  const store = config.kind === "postgres" ? new PostgresStore(config.url, config.poolSize, config.schema) : new SqliteStore(config.path);
  await store.migrate();
  return store;
}

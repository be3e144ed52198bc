/**
 * `backup --to FILE`: an online copy of the SQLite store (SQLite's backup API: a consistent snapshot while
 * the bridge keeps serving). PostgreSQL is backed up with its own tools.
 */
import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import type { Config } from "../config/schema";
import type { CommandResult } from "./mappings";

export async function backupCommand(config: Config, to: string): Promise<CommandResult> {
  if (config.store.kind !== "sqlite")
    return { code: 2, out: ["the store is PostgreSQL: back it up with pg_dump (see README, Running in production: backup and restore)"] };
  if (existsSync(to)) return { code: 2, out: [`${to} exists already: name a new file`] };
  if (!existsSync(config.store.path)) return { code: 1, out: [`there is no store at ${config.store.path} to back up`] };
  const db = new Database(config.store.path, { readonly: true, fileMustExist: true });
  try {
    const started = Date.now();
    const { totalPages } = await db.backup(to);
    return { code: 0, out: [`backed up ${config.store.path} to ${to} (${totalPages} pages, ${Date.now() - started} ms)`] };
  } finally {
    db.close();
  }
}

/**
 * Upgrades go forward only: a store whose schema a newer release migrated is refused at open, on SQLite
 * and on PostgreSQL, with both versions named, and nothing is left open.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { Client } from "pg";
import { postgresMigrations, SchemaTooNewError, sqliteMigrations } from "../src/store/migrations";
import { openStores } from "../src/store/open";
import { dropSchema, POSTGRES_URL } from "./helpers/stores";

const latest = (migrations: { version: number }[]) => Math.max(...migrations.map((m) => m.version));

describe("a schema newer than the release", () => {
  it("is refused on SQLite", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "scim-bridge-schema-")), "bridge.db");
    await (await openStores({ kind: "sqlite", path })).admin.close();
    const db = new Database(path);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'later', '')").run(latest(sqliteMigrations) + 1);
    db.close();
    await expect(openStores({ kind: "sqlite", path })).rejects.toThrow(new SchemaTooNewError(latest(sqliteMigrations) + 1, latest(sqliteMigrations)));
    // The same release still opens it after a restore of the older schema.
    const restored = new Database(path);
    restored.prepare("DELETE FROM schema_migrations WHERE name = 'later'").run();
    restored.close();
    await (await openStores({ kind: "sqlite", path })).admin.close();
  });

  it("is refused on PostgreSQL", async () => {
    const schema = `t_newer_${randomBytes(5).toString("hex")}`;
    await (await openStores({ kind: "postgres", url: POSTGRES_URL, schema, poolSize: 2 })).admin.close();
    const client = new Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`INSERT INTO ${schema}.schema_migrations (version, name, applied_at) VALUES ($1, 'later', '')`, [latest(postgresMigrations) + 5]);
      await expect(openStores({ kind: "postgres", url: POSTGRES_URL, schema, poolSize: 2 })).rejects.toThrow(
        /the store's schema is at version \d+, newer than this scim-bridge knows \(\d+\)/,
      );
    } finally {
      await client.end();
      await dropSchema(schema);
    }
  });
});

/**
 * Seeds a target with n users straight into the database, in one statement (no HTTP, no scimmy): what the
 * store would have written for `user<i>@bench.example.com`, with the index columns and email rows.
 * Every user has title "Engineer" and family name "User <i>" (filters on them match by design, or not at all).
 */
import Database from "better-sqlite3";
import pg from "pg";

export const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
export const SEEDED_AT = "2026-01-01T00:00:00.000Z";

export const seededId = (i: number) => `u${i}`;
export const seededName = (i: number) => `user${i}@bench.example.com`;

export function seedSqlite(path: string, target: string, n: number): void {
  const db = new Database(path);
  try {
    db.transaction(() => {
      db.prepare(
        `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < @n)
         INSERT INTO resources (target, kind, id, name, name_key, external_id, display_key, doc, created, last_modified, version)
         SELECT @target, 'User', 'u' || i, 'user' || i || '@bench.example.com', 'user' || i || '@bench.example.com', 'ext' || i, 'bench user ' || i,
           json_object('schemas', json_array(@schema), 'userName', 'user' || i || '@bench.example.com', 'externalId', 'ext' || i,
             'displayName', 'Bench User ' || i, 'name', json_object('givenName', 'Bench', 'familyName', 'User ' || i), 'title', 'Engineer',
             'emails', json_array(json_object('value', 'user' || i || '@bench.example.com', 'type', 'work', 'primary', json('true'))), 'active', json('true')),
           @at, @at, 1
         FROM s`,
      ).run({ n, target, schema: CORE_USER, at: SEEDED_AT });
      db.prepare("INSERT INTO user_emails (target, user_id, value_key) SELECT target, id, name_key FROM resources WHERE target = ? AND kind = 'User'").run(
        target,
      );
    })();
  } finally {
    db.close();
  }
}

export async function seedPostgres(url: string, schema: string, target: string, n: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${schema}"`);
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO resources (target, kind, id, name, name_key, external_id, display_key, doc, created, last_modified, version)
       SELECT $1, 'User', 'u' || i, 'user' || i || '@bench.example.com', 'user' || i || '@bench.example.com', 'ext' || i, 'bench user ' || i,
         jsonb_build_object('schemas', jsonb_build_array($2::text), 'userName', 'user' || i || '@bench.example.com', 'externalId', 'ext' || i,
           'displayName', 'Bench User ' || i, 'name', jsonb_build_object('givenName', 'Bench', 'familyName', 'User ' || i), 'title', 'Engineer',
           'emails', jsonb_build_array(jsonb_build_object('value', 'user' || i || '@bench.example.com', 'type', 'work', 'primary', true)), 'active', true),
         $3, $3, 1
       FROM generate_series(0, $4 - 1) AS i`,
      [target, CORE_USER, SEEDED_AT, n],
    );
    await client.query("INSERT INTO user_emails (target, user_id, value_key) SELECT target, id, name_key FROM resources WHERE target = $1 AND kind = 'User'", [
      target,
    ]);
    await client.query("COMMIT");
    await client.query("VACUUM ANALYZE resources"); // as autovacuum would have, in a database that has run a while
  } finally {
    await client.end();
  }
}

/**
 * Versioned schema migrations. Each store applies, in order, those above its recorded version, each in one
 * transaction. Append new versions; never edit a released one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every vendor call the bridge made: operation, outcome, the vendor's code and RequestId. Never its parameters. */
function vendorCallsTable(sequence: string): string {
  return `
    CREATE TABLE vendor_calls (
      seq               ${sequence},
      target            TEXT    NOT NULL,
      at                TEXT    NOT NULL,
      request_id        TEXT    NOT NULL,
      scim_id           TEXT,
      operation         TEXT    NOT NULL,
      call              TEXT    NOT NULL,
      outcome           TEXT    NOT NULL,
      code              TEXT,
      vendor_request_id TEXT,
      attempts          INTEGER NOT NULL,
      ms                INTEGER NOT NULL
    );
    CREATE INDEX vendor_calls_subject ON vendor_calls (target, scim_id, seq);
    CREATE INDEX vendor_calls_target ON vendor_calls (target, seq);
    CREATE INDEX vendor_calls_at ON vendor_calls (at);
  `;
}

/**
 * Which vendor user a create call was about, without keeping its parameters: the SHA-256 of the unique
 * name it asked for (lower case) and the key the vendor answered with. reconcile finds vendor users the
 * bridge created but no link holds (an answer lost to a crash or a deadline) through these; a retried
 * create under existingUsers: reject recognises the bridge's own earlier create.
 */
const CREATE_SUBJECT = `
    ALTER TABLE vendor_calls ADD COLUMN name_hash TEXT;
    ALTER TABLE vendor_calls ADD COLUMN vendor_key TEXT;
    CREATE INDEX vendor_calls_name ON vendor_calls (target, name_hash);
  `;

/**
 * The outbox: one row per resource with vendor work (see WorkItem), and the shared state of each vendor
 * credential (rate limiter and circuit), as one JSON text per credential. Times are ms since the epoch.
 */
const OUTBOX_TABLES = `
    CREATE TABLE outbox (
      target          TEXT    NOT NULL,
      scim_id         TEXT    NOT NULL,
      state           TEXT    NOT NULL CHECK (state IN ('pending', 'failed', 'done')),
      generation      INTEGER NOT NULL,
      deprovision     INTEGER NOT NULL,
      resend_status   INTEGER NOT NULL,
      attempts        INTEGER NOT NULL,
      next_at         BIGINT  NOT NULL,
      create_intent   INTEGER NOT NULL DEFAULT 0,
      first_at        BIGINT  NOT NULL,
      horizon_at      BIGINT,
      last_at         BIGINT,
      last_code       TEXT,
      last_detail     TEXT,
      last_vendor_request_id TEXT,
      lease_owner     TEXT,
      lease_until     BIGINT,
      -- The user as it was when deleted: a create whose answer was lost is found by it, and removed.
      removed_doc     TEXT,
      -- The change carried a password (kept in the taking process's memory only, never here).
      password_pending INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (target, scim_id)
    );
    CREATE INDEX outbox_due ON outbox (state, deprovision, next_at);
    CREATE TABLE credential_state (
      credential TEXT PRIMARY KEY,
      state      TEXT NOT NULL
    );
  `;

/** When each row's deprovisioning was asked for (its time to the vendor is measured from there). */
const DEPROVISION_AT = `
    ALTER TABLE outbox ADD COLUMN deprovision_at BIGINT;
    UPDATE outbox SET deprovision_at = first_at WHERE deprovision = 1 AND state <> 'done';
  `;

export const sqliteMigrations: Migration[] = [
  {
    version: 1,
    name: "resources and memberships",
    sql: `
      CREATE TABLE resources (
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,
        target         TEXT    NOT NULL,
        kind           TEXT    NOT NULL CHECK (kind IN ('User', 'Group')),
        id             TEXT    NOT NULL UNIQUE,
        name           TEXT    NOT NULL,
        name_key       TEXT    NOT NULL,
        external_id    TEXT,
        display_key    TEXT,
        doc            TEXT    NOT NULL,
        created        TEXT    NOT NULL,
        last_modified  TEXT    NOT NULL,
        version        INTEGER NOT NULL
      );
      -- userName is unique per target, case-insensitively (RFC 7643 §4.1.1); group names are not unique.
      CREATE UNIQUE INDEX resources_user_name ON resources (target, name_key) WHERE kind = 'User';
      CREATE INDEX resources_target_seq ON resources (target, kind, seq);
      CREATE INDEX resources_name ON resources (target, kind, name_key);
      CREATE INDEX resources_external_id ON resources (target, kind, external_id);
      CREATE INDEX resources_display ON resources (target, kind, display_key);
      CREATE INDEX resources_created ON resources (target, kind, created);
      CREATE INDEX resources_modified ON resources (target, kind, last_modified);

      CREATE TABLE user_emails (
        target    TEXT NOT NULL,
        user_id   TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
        value_key TEXT NOT NULL
      );
      CREATE INDEX user_emails_value ON user_emails (target, value_key);
      CREATE INDEX user_emails_user ON user_emails (user_id);

      CREATE TABLE group_members (
        target    TEXT    NOT NULL,
        group_id  TEXT    NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
        member_id TEXT    NOT NULL,
        display   TEXT,
        seq       INTEGER NOT NULL,
        PRIMARY KEY (group_id, member_id)
      );
      CREATE INDEX group_members_member ON group_members (target, member_id);
      CREATE INDEX group_members_order ON group_members (group_id, seq);
    `,
  },
  {
    version: 2,
    name: "vendor links",
    sql: `
      -- Which vendor user each SCIM user is, and whether the bridge created or adopted it. Kept after a SCIM
      -- DELETE (deleted_at is set), so a vendor user the bridge made can always be told from a stranger.
      CREATE TABLE vendor_links (
        target      TEXT NOT NULL,
        scim_id     TEXT NOT NULL,
        vendor      TEXT NOT NULL,
        vendor_key  TEXT NOT NULL,
        link        TEXT NOT NULL CHECK (link IN ('created', 'adopted')),
        user_name   TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        deleted_at  TEXT,
        PRIMARY KEY (target, scim_id)
      );
      CREATE INDEX vendor_links_key ON vendor_links (target, vendor_key);
    `,
  },
  {
    version: 3,
    name: "vendor state and acknowledged payloads",
    sql: `
      -- active | disabled | removed: what the vendor user is now, as far as the bridge made it so.
      ALTER TABLE vendor_links ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
      -- The parameters the vendor last acknowledged, per operation (JSON, secrets left out): updates are
      -- diffed against these, not against the last SCIM state, so a failed call is sent again.
      ALTER TABLE vendor_links ADD COLUMN acknowledged TEXT NOT NULL DEFAULT '{}';
    `,
  },
  {
    version: 4,
    name: "vendor group links",
    sql: `
      -- Which vendor group each SCIM group is, and whether the bridge created it (only then does a SCIM
      -- DELETE of the group delete the vendor group).
      CREATE TABLE vendor_group_links (
        target            TEXT    NOT NULL,
        scim_id           TEXT    NOT NULL,
        vendor_group_id   TEXT    NOT NULL,
        created_by_bridge INTEGER NOT NULL,
        created_at        TEXT    NOT NULL,
        PRIMARY KEY (target, scim_id)
      );
    `,
  },
  { version: 5, name: "vendor call audit trail", sql: vendorCallsTable("INTEGER PRIMARY KEY AUTOINCREMENT") },
  { version: 6, name: "vendor call subjects", sql: CREATE_SUBJECT },
  { version: 7, name: "outbox and credential state", sql: OUTBOX_TABLES },
  { version: 8, name: "deprovisioning time", sql: DEPROVISION_AT },
];

/** The same schema for PostgreSQL (the scale-out store). */
export const postgresMigrations: Migration[] = [
  {
    version: 1,
    name: "resources and memberships",
    sql: `
      CREATE TABLE resources (
        seq            BIGSERIAL PRIMARY KEY,
        target         TEXT    NOT NULL,
        kind           TEXT    NOT NULL CHECK (kind IN ('User', 'Group')),
        id             TEXT    NOT NULL UNIQUE,
        name           TEXT    NOT NULL,
        name_key       TEXT    NOT NULL,
        external_id    TEXT,
        display_key    TEXT,
        doc            JSONB   NOT NULL,
        created        TEXT    NOT NULL,
        last_modified  TEXT    NOT NULL,
        version        INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX resources_user_name ON resources (target, name_key) WHERE kind = 'User';
      CREATE INDEX resources_target_seq ON resources (target, kind, seq);
      CREATE INDEX resources_name ON resources (target, kind, name_key);
      CREATE INDEX resources_external_id ON resources (target, kind, external_id);
      CREATE INDEX resources_display ON resources (target, kind, display_key);
      CREATE INDEX resources_created ON resources (target, kind, created);
      CREATE INDEX resources_modified ON resources (target, kind, last_modified);

      CREATE TABLE user_emails (
        target    TEXT NOT NULL,
        user_id   TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
        value_key TEXT NOT NULL
      );
      CREATE INDEX user_emails_value ON user_emails (target, value_key);
      CREATE INDEX user_emails_user ON user_emails (user_id);

      CREATE TABLE group_members (
        target    TEXT   NOT NULL,
        group_id  TEXT   NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
        member_id TEXT   NOT NULL,
        display   TEXT,
        seq       BIGSERIAL,
        PRIMARY KEY (group_id, member_id)
      );
      CREATE INDEX group_members_member ON group_members (target, member_id);
      CREATE INDEX group_members_order ON group_members (group_id, seq);
    `,
  },
  {
    version: 2,
    name: "vendor links",
    sql: `
      CREATE TABLE vendor_links (
        target       TEXT NOT NULL,
        scim_id      TEXT NOT NULL,
        vendor       TEXT NOT NULL,
        vendor_key   TEXT NOT NULL,
        link         TEXT NOT NULL CHECK (link IN ('created', 'adopted')),
        user_name    TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        deleted_at   TEXT,
        state        TEXT NOT NULL DEFAULT 'active',
        acknowledged JSONB NOT NULL DEFAULT '{}',
        PRIMARY KEY (target, scim_id)
      );
      CREATE INDEX vendor_links_key ON vendor_links (target, vendor_key);
      CREATE TABLE vendor_group_links (
        target            TEXT    NOT NULL,
        scim_id           TEXT    NOT NULL,
        vendor_group_id   TEXT    NOT NULL,
        created_by_bridge BOOLEAN NOT NULL,
        created_at        TEXT    NOT NULL,
        PRIMARY KEY (target, scim_id)
      );
    `,
  },
  { version: 3, name: "vendor call audit trail", sql: vendorCallsTable("BIGSERIAL PRIMARY KEY") },
  { version: 4, name: "vendor call subjects", sql: CREATE_SUBJECT },
  { version: 5, name: "outbox and credential state", sql: OUTBOX_TABLES },
  { version: 6, name: "deprovisioning time", sql: DEPROVISION_AT },
];

/** The store's schema was migrated by a newer release: this one would misread it, so it does not start. */
export class SchemaTooNewError extends Error {
  constructor(found: number, known: number) {
    super(
      `the store's schema is at version ${found}, newer than this scim-bridge knows (${known}): a newer release upgraded it. ` +
        "Run that release (or newer), or restore the backup taken before the upgrade; a schema is never downgraded.",
    );
    this.name = "SchemaTooNewError";
  }
}

/** Refuses a schema newer than `migrations` know, before anything is read or written. */
export function refuseNewerSchema(found: number, migrations: Migration[]): void {
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (found > known) throw new SchemaTooNewError(found, known);
}

/**
 * The scale-out store: PostgreSQL through `pg`. Several bridge processes may share one database: uniqueness
 * is the database's, a PATCH's write checks the version it read, and migrations take an advisory lock.
 *
 * A writer holds its resource's advisory lock on one pooled connection, and every query it makes while
 * holding it runs on that same connection (found through AsyncLocalStorage): a writer never waits for a
 * second connection while holding one, so any number of concurrent writers share any pool size without
 * deadlock. A lost connection (failover, restart, an idle reaper) is a StoreUnavailableError — the request
 * answers 503 — and the pool makes new connections once the database is back.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import type { Logger } from "../log";
import { postgresMigrations, refuseNewerSchema } from "./migrations";
import { ENQUEUE_PARAMS, enqueueSql, OPEN_DEPROVISION_SINCE, postgresDialect, SETTLE_PARAMS, settleSql } from "./outbox-sql";
import { pageOf, pageOfAsync, sortInMemory } from "./paging";
import { postgresCondition, timeRangeOf, type SqlCondition } from "./filter-sql";
import { budgetOf, checkRowBudget } from "./scan";
import {
  settlementValues,
  SORT_COLUMN,
  toLink,
  toResource,
  toVendorCall,
  toWorkItem,
  VENDOR_CALL_COLUMNS,
  vendorCallValues,
  type LinkRow,
  type OutboxRow,
  type ResourceRow,
  type VendorCallRow,
} from "./rows";
import {
  NotFoundError,
  UniquenessError,
  VersionMismatchError,
  type IndexLookup,
  type KeysOf,
  type ListPage,
  type ListQuery,
  type Member,
  type ResourceKind,
  type ScimDocument,
  type Store,
  type StoredResource,
  type UserKeys,
  type VendorCallRecord,
  type VendorGroupLink,
  type VendorLink,
  type NewVendorLink,
  type OutboxStats,
  type WorkItem,
  type WorkOrder,
  type WorkSettlement,
  StoreUnavailableError,
  FilterTooCostlyError,
} from "./types";

const COLUMNS = "seq, id, kind, doc, created, last_modified, version";
/** Rows read per round trip when a filter has to look at every resource of a target. */
const SCAN_BATCH = 1000;
const ENQUEUE = enqueueSql(postgresDialect(ENQUEUE_PARAMS));
const SETTLE = settleSql(postgresDialect(SETTLE_PARAMS));

/** What PostgreSQL answers when statement_timeout ends a query. */
const QUERY_CANCELED = "57014";

/** Any constant: the key of the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 7_210_443;

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === "23505";
}

/** SQLSTATE classes of a database that is away or refusing work: connection (08), operator intervention (57), resources (53). */
const UNAVAILABLE_SQLSTATE = /^(08|57|53)/;
/** What node-postgres and the socket say when the connection itself fails (they carry no SQLSTATE). */
const CONNECTION_FAILURE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|the database system is (starting up|shutting down)/i;

/** A driver error as the store's: connection-level failures become StoreUnavailableError; the rest pass. */
function storeErrorOf(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : "";
  if (UNAVAILABLE_SQLSTATE.test(code) || /^E[A-Z]+$/.test(code) || CONNECTION_FAILURE.test(String(e?.message ?? "")))
    // The reason reaches the IdP: no host, address or driver text (the cause keeps that, for the log).
    return new StoreUnavailableError(`PostgreSQL is unavailable${code ? ` (${code})` : ""}`, error);
  return error;
}

/** The connection a writer holds with its advisory locks; its queries (and transactions) run on it. */
interface HeldConnection {
  client: pg.PoolClient;
  keys: Set<string>;
  inTransaction: boolean;
}

function nameOf(keys: UserKeys | KeysOf<"Group">): string {
  return "userName" in keys ? keys.userName : keys.displayName;
}

type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

export interface PostgresOptions {
  poolSize?: number;
  /** A schema of its own (created if missing), so several bridges or test runs can share a database. */
  schema?: string;
  log?: Logger;
  /** How long a request waits for a pooled connection before it answers 503. */
  connectTimeoutMs?: number;
}

export class PostgresStore implements Store {
  readonly kind = "postgres" as const;
  private readonly pool: pg.Pool;
  private readonly held = new AsyncLocalStorage<HeldConnection>();
  private readonly schema?: string;
  private readonly log?: Logger;

  constructor(url: string, options: PostgresOptions = {}) {
    const { poolSize = 10, schema, log, connectTimeoutMs = 10_000 } = options;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`'${schema}' is not a plain schema name`);
    this.schema = schema;
    this.log = log;
    this.pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: connectTimeoutMs,
      // Dead peers (a failed-over primary that never sent a FIN) are noticed instead of waited on for ever.
      keepAlive: true,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle connection the server ended (failover, restart, pg_terminate_backend): the pool drops it and
    // makes a new one on demand. Without a listener this event would end the process.
    this.pool.on("error", (error) => this.log?.warn("PostgreSQL connection lost; it will be replaced", { error: error.message }));
  }

  /** A pooled connection for `work`; a connection that failed while held is destroyed, not reused. */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw storeErrorOf(error);
    }
    const state: { broken?: Error } = {};
    // A held connection that the server ends emits 'error' outside any query: unhandled, it would end the process.
    const onError = (error: Error) => {
      state.broken = error;
      this.log?.warn("PostgreSQL connection lost while in use", { error: error.message });
    };
    client.on("error", onError);
    try {
      return await work(client);
    } catch (error) {
      const mapped = storeErrorOf(error);
      if (mapped instanceof StoreUnavailableError) state.broken ??= mapped;
      throw mapped;
    } finally {
      client.off("error", onError);
      client.release(state.broken ?? false);
    }
  }

  private async transaction<T>(work: (q: Query) => Promise<T>): Promise<T> {
    const held = this.held.getStore();
    if (held?.inTransaction) return work((text, values) => held.client.query(text, values));
    const run = async (client: pg.PoolClient) => {
      await client.query("BEGIN");
      if (held) held.inTransaction = true;
      try {
        const result = await work((text, values) => client.query(text, values));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        if (held) held.inTransaction = false;
      }
    };
    if (held) return run(held.client).catch((error: unknown) => Promise.reject(storeErrorOf(error)));
    return this.withClient((client) => run(client));
  }

  private async query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    const held = this.held.getStore();
    try {
      return await (held ? held.client.query(text, values) : this.pool.query(text, values));
    } catch (error) {
      throw storeErrorOf(error);
    }
  }

  async migrate(): Promise<number> {
    if (this.schema) await this.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    return this.transaction(async (q) => {
      await q("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      await q("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
      const { rows } = await q("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations");
      refuseNewerSchema(Number(rows[0].v), postgresMigrations);
      let applied = 0;
      for (const migration of postgresMigrations.filter((m) => m.version > Number(rows[0].v))) {
        await q(migration.sql);
        await q("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [migration.version, migration.name, new Date().toISOString()]);
        applied++;
      }
      return applied;
    });
  }

  /**
   * A session advisory lock on the key while `work` runs. The lock's connection is the one `work`'s queries
   * use; a nested exclusive (another key inside) takes its lock on the same connection.
   */
  async exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
    const held = this.held.getStore();
    if (held) {
      if (held.keys.has(key)) return work();
      return this.locked(held, key, work);
    }
    return this.withClient((client) => this.held.run({ client, keys: new Set(), inTransaction: false }, () => this.locked(this.held.getStore()!, key, work)));
  }

  detached<T>(work: () => T): T {
    return this.held.exit(work);
  }

  private async locked<T>(held: HeldConnection, key: string, work: () => Promise<T>): Promise<T> {
    await held.client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [key]);
    held.keys.add(key);
    try {
      return await work();
    } finally {
      held.keys.delete(key);
      // On a lost connection the server has already released the lock with the session.
      await held.client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [key]).catch(() => undefined);
    }
  }

  async ping(): Promise<void> {
    // Readiness: a connection within the connect timeout, and a server that accepts writes (not a standby).
    const { rows } = await this.query("SELECT pg_is_in_recovery() AS standby");
    if (rows[0]?.standby) throw new StoreUnavailableError("PostgreSQL is a read-only standby");
  }

  /** Ends the pool; connections still held by requests are waited for at most `graceMs`. */
  async close(graceMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.pool.end(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs).unref()))]);
    clearTimeout(timer);
  }

  /** Drops the store's own schema (tests). */
  async dropSchema(): Promise<void> {
    if (this.schema) await this.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }

  async create<K extends ResourceKind>(target: string, kind: K, id: string, doc: ScimDocument, keys: KeysOf<K>, work?: WorkOrder): Promise<StoredResource> {
    const now = new Date().toISOString();
    const name = nameOf(keys);
    try {
      await this.transaction(async (q) => {
        await q(
          `INSERT INTO resources (target, kind, id, name, name_key, external_id, display_key, doc, created, last_modified, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1)`,
          [target, kind, id, name, name.toLowerCase(), keys.externalId ?? null, keys.displayName?.toLowerCase() ?? null, doc, now],
        );
        if ("emails" in keys) await this.writeEmails(q, target, id, (keys as UserKeys).emails);
        if (work) await this.writeWork(q, target, id, work);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new UniquenessError(kind === "User" ? "userName" : "id");
      throw error;
    }
    return { id, kind, doc, created: now, lastModified: now, version: 1 };
  }

  async replace<K extends ResourceKind>(
    target: string,
    kind: K,
    id: string,
    doc: ScimDocument,
    keys: KeysOf<K>,
    expectedVersion?: number,
    work?: WorkOrder,
  ): Promise<StoredResource> {
    const now = new Date().toISOString();
    const name = nameOf(keys);
    try {
      return await this.transaction(async (q) => {
        const current = (await q(`SELECT ${COLUMNS} FROM resources WHERE id = $1 AND target = $2 AND kind = $3 FOR UPDATE`, [id, target, kind])).rows[0] as
          ResourceRow | undefined;
        if (!current) throw new NotFoundError(kind, id);
        if (expectedVersion !== undefined && current.version !== expectedVersion) throw new VersionMismatchError(current.version);
        await q(
          `UPDATE resources SET name = $1, name_key = $2, external_id = $3, display_key = $4, doc = $5, last_modified = $6, version = version + 1 WHERE id = $7`,
          [name, name.toLowerCase(), keys.externalId ?? null, keys.displayName?.toLowerCase() ?? null, doc, now, id],
        );
        if ("emails" in keys) await this.writeEmails(q, target, id, (keys as UserKeys).emails);
        if (work) await this.writeWork(q, target, id, work);
        return { id, kind, doc, created: current.created, lastModified: now, version: current.version + 1 };
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new UniquenessError("userName");
      throw error;
    }
  }

  async get(target: string, kind: ResourceKind, id: string): Promise<StoredResource | undefined> {
    const row = (await this.query(`SELECT ${COLUMNS} FROM resources WHERE id = $1 AND target = $2 AND kind = $3`, [id, target, kind])).rows[0] as
      ResourceRow | undefined;
    return row ? toResource(row) : undefined;
  }

  async remove(target: string, kind: ResourceKind, id: string, expectedVersion?: number, work?: WorkOrder): Promise<void> {
    await this.transaction(async (q) => {
      const current = (await q("SELECT version FROM resources WHERE id = $1 AND target = $2 AND kind = $3 FOR UPDATE", [id, target, kind])).rows[0] as
        { version: number } | undefined;
      if (!current) throw new NotFoundError(kind, id);
      if (expectedVersion !== undefined && current.version !== expectedVersion) throw new VersionMismatchError(current.version);
      const groups = (await q("DELETE FROM group_members WHERE target = $1 AND member_id = $2 RETURNING group_id", [target, id])).rows as {
        group_id: string;
      }[];
      for (const g of groups) await this.touch(q, g.group_id);
      await q("DELETE FROM resources WHERE id = $1", [id]);
      if (work) await this.writeWork(q, target, id, work);
    });
  }

  // ---- outbox ----

  private async writeWork(q: Query, target: string, scimId: string, order: WorkOrder): Promise<void> {
    const now = Date.now();
    await q(ENQUEUE, [
      target,
      scimId,
      order.deprovision ? 1 : 0,
      order.resendStatus ? 1 : 0,
      now,
      order.deprovision ? null : now + order.horizonMs,
      order.removedDoc ? JSON.stringify(order.removedDoc) : null,
      order.password ? 1 : 0,
    ]);
  }

  async enqueueWork(target: string, scimId: string, order: WorkOrder): Promise<void> {
    await this.transaction((q) => this.writeWork(q, target, scimId, order));
  }

  async claimWork(owner: string, leaseMs: number, limit: number, targets: string[]): Promise<WorkItem[]> {
    const now = Date.now();
    const { rows } = await this.query(
      `UPDATE outbox o SET lease_owner = $1, lease_until = $2
       FROM (SELECT target, scim_id FROM outbox WHERE state = 'pending' AND next_at <= $3 AND (lease_until IS NULL OR lease_until < $3) AND target = ANY($5)
             ORDER BY deprovision DESC, next_at LIMIT $4 FOR UPDATE SKIP LOCKED) due
       WHERE o.target = due.target AND o.scim_id = due.scim_id RETURNING o.*`,
      [owner, now + leaseMs, now, limit, targets],
    );
    return (rows as OutboxRow[]).map(toWorkItem).sort((a, b) => Number(b.deprovision) - Number(a.deprovision) || a.nextAt - b.nextAt);
  }

  async claimWorkOf(target: string, scimId: string, owner: string, leaseMs: number): Promise<WorkItem | undefined> {
    const now = Date.now();
    const { rows } = await this.query(
      `UPDATE outbox SET lease_owner = $1, lease_until = $2 WHERE target = $3 AND scim_id = $4 AND state = 'pending' AND (lease_until IS NULL OR lease_until < $5) RETURNING *`,
      [owner, now + leaseMs, target, scimId, now],
    );
    return rows[0] ? toWorkItem(rows[0] as OutboxRow) : undefined;
  }

  async renewLeases(owner: string, leaseMs: number, items: { target: string; scimId: string }[]): Promise<void> {
    if (items.length === 0) return;
    await this.query(`UPDATE outbox SET lease_until = $1 WHERE lease_owner = $2 AND (target, scim_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))`, [
      Date.now() + leaseMs,
      owner,
      items.map((i) => i.target),
      items.map((i) => i.scimId),
    ]);
  }

  async markCreateIntent(target: string, scimId: string, owner: string, on: boolean): Promise<boolean> {
    return (
      ((await this.query("UPDATE outbox SET create_intent = $1 WHERE target = $2 AND scim_id = $3 AND lease_owner = $4", [on ? 1 : 0, target, scimId, owner]))
        .rowCount ?? 0) > 0
    );
  }

  async settleWork(target: string, scimId: string, owner: string, generation: number, settlement: WorkSettlement): Promise<WorkItem | undefined> {
    const now = Date.now();
    const v = settlementValues(settlement, now);
    const { rows } = await this.query(SETTLE, [target, scimId, owner, generation, v.state, v.nextAt, now, v.attempted, v.code, v.detail, v.vendorRequestId]);
    return rows[0] ? toWorkItem(rows[0] as OutboxRow) : undefined;
  }

  async workOf(target: string, scimIds: string[]): Promise<Map<string, WorkItem>> {
    if (scimIds.length === 0) return new Map();
    const { rows } = await this.query("SELECT * FROM outbox WHERE target = $1 AND scim_id = ANY($2)", [target, scimIds]);
    return new Map((rows as OutboxRow[]).map((row) => [row.scim_id, toWorkItem(row)]));
  }

  async listWork(filter: { target?: string; state?: WorkItem["state"]; limit: number }): Promise<WorkItem[]> {
    const { rows } = await this.query(
      `SELECT * FROM outbox WHERE ($1::text IS NULL OR target = $1) AND ($2::text IS NULL OR state = $2) AND ($2::text IS NOT NULL OR state <> 'done')
       ORDER BY deprovision DESC, first_at LIMIT $3`,
      [filter.target ?? null, filter.state ?? null, filter.limit],
    );
    return (rows as OutboxRow[]).map(toWorkItem);
  }

  async redriveWork(target: string, which: { scimId: string } | { failed: true }, horizonMs: number): Promise<number> {
    const now = Date.now();
    const set = `state = 'pending', next_at = $1, attempts = 0, first_at = $1, horizon_at = CASE WHEN deprovision = 1 THEN NULL ELSE $2::bigint END`;
    const result =
      "scimId" in which
        ? await this.query(`UPDATE outbox SET ${set} WHERE target = $3 AND scim_id = $4 AND state <> 'done'`, [now, now + horizonMs, target, which.scimId])
        : await this.query(`UPDATE outbox SET ${set} WHERE target = $3 AND state = 'failed'`, [now, now + horizonMs, target]);
    return result.rowCount ?? 0;
  }

  async dropWork(target: string, scimId: string): Promise<boolean> {
    return ((await this.query("DELETE FROM outbox WHERE target = $1 AND scim_id = $2", [target, scimId])).rowCount ?? 0) > 0;
  }

  async releaseLeases(owner: string): Promise<void> {
    await this.query("UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1", [owner]);
  }

  async releaseWork(targets: string[]): Promise<number> {
    const { rowCount } = await this.query("UPDATE outbox SET next_at = $1 WHERE state = 'pending' AND next_at > $1 AND target = ANY($2)", [
      Date.now(),
      targets,
    ]);
    return rowCount ?? 0;
  }

  async outboxStats(): Promise<OutboxStats> {
    const depth = await this.query("SELECT target, state, COUNT(*)::int AS count FROM outbox WHERE state <> 'done' GROUP BY target, state");
    const oldest = await this.query(
      `SELECT target, MIN(${OPEN_DEPROVISION_SINCE}) AS since FROM outbox WHERE state <> 'done' AND deprovision = 1 GROUP BY target`,
    );
    return {
      depth: depth.rows as OutboxStats["depth"],
      oldestDeprovision: (oldest.rows as { target: string; since: string }[]).map((r) => ({ target: r.target, since: Number(r.since) })),
    };
  }

  /** The credential's row locked for the transaction, and the database's clock (one clock for every replica). */
  async updateCredentialState<T>(credential: string, update: (state: string | undefined, now: number) => { state: string; result: T }): Promise<T> {
    return this.transaction(async (q) => {
      await q("INSERT INTO credential_state (credential, state) VALUES ($1, '') ON CONFLICT (credential) DO NOTHING", [credential]);
      const { rows } = await q(
        "SELECT state, (extract(epoch from clock_timestamp()) * 1000)::float8 AS now FROM credential_state WHERE credential = $1 FOR UPDATE",
        [credential],
      );
      const row = rows[0] as { state: string; now: number };
      const { state, result } = update(row.state === "" ? undefined : row.state, Number(row.now));
      await q("UPDATE credential_state SET state = $1 WHERE credential = $2", [state, credential]);
      return result;
    });
  }

  async list(target: string, kind: ResourceKind, query: ListQuery): Promise<ListPage> {
    if (query.lookups) return this.listByLookups(target, kind, query, query.lookups);
    const sort = query.sort && "column" in query.sort ? query.sort : undefined;
    const order = sort ? `${SORT_COLUMN[sort.column]} ${sort.descending ? "DESC" : "ASC"} NULLS LAST, seq ASC` : "seq ASC";
    const filtered = Boolean(query.predicate || query.filter);
    if (!filtered && (!query.sort || sort)) {
      const total = Number((await this.query("SELECT COUNT(*) AS n FROM resources WHERE target = $1 AND kind = $2", [target, kind])).rows[0].n);
      // In insertion order, the rows skipped are read from the index only (never their documents).
      const { rows } = sort
        ? await this.query(`SELECT ${COLUMNS} FROM resources WHERE target = $1 AND kind = $2 ORDER BY ${order} LIMIT $3 OFFSET $4`, [
            target,
            kind,
            query.count,
            query.startIndex - 1,
          ])
        : await this.query(
            `SELECT ${COLUMNS} FROM resources WHERE seq IN (SELECT seq FROM resources WHERE target = $1 AND kind = $2 ORDER BY seq LIMIT $3 OFFSET $4) ORDER BY seq`,
            [target, kind, query.count, query.startIndex - 1],
          );
      return { total, resources: (rows as ResourceRow[]).map(toResource) };
    }
    const condition = query.filter ? postgresCondition(query.filter, kind, 3) : undefined;
    const indexed = query.filter !== undefined && timeRangeOf(query.filter);
    if (!indexed) checkRowBudget(query, kind, await this.count(target, kind));
    if (condition && (!query.sort || sort)) return this.listWhere(target, kind, query, order, condition);
    return pageOfAsync(this.scan(target, kind, order, !sort), query);
  }

  /** The filter evaluated by PostgreSQL (off the bridge's event loop), within the target's time budget. */
  private async listWhere(target: string, kind: ResourceKind, query: ListQuery, order: string, condition: SqlCondition): Promise<ListPage> {
    const { ms } = budgetOf(query);
    const where = `target = $1 AND kind = $2 AND (${condition.sql})`;
    const values = [target, kind, ...condition.params];
    return this.transaction(async (q) => {
      try {
        // 0 would mean no limit to PostgreSQL.
        await q(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(ms))}`);
        const total = Number((await q(`SELECT COUNT(*) AS n FROM resources WHERE ${where}`, values)).rows[0].n);
        const n = values.length;
        const { rows } = await q(`SELECT ${COLUMNS} FROM resources WHERE ${where} ORDER BY ${order} LIMIT $${n + 1} OFFSET $${n + 2}`, [
          ...values,
          query.count,
          query.startIndex - 1,
        ]);
        return { total, resources: (rows as ResourceRow[]).map(toResource) };
      } catch (error) {
        if ((error as { code?: unknown }).code === QUERY_CANCELED) throw FilterTooCostlyError.time(ms);
        throw error;
      }
    });
  }

  /** Every resource of a target in order, a batch per round trip (keyset paging when in insertion order). */
  private async *scan(target: string, kind: ResourceKind, order: string, bySeq: boolean): AsyncIterable<StoredResource> {
    let after = "0";
    for (let offset = 0; ; offset += SCAN_BATCH) {
      const { rows } = bySeq
        ? await this.query(`SELECT ${COLUMNS} FROM resources WHERE target = $1 AND kind = $2 AND seq > $3 ORDER BY seq LIMIT $4`, [
            target,
            kind,
            after,
            SCAN_BATCH,
          ])
        : await this.query(`SELECT ${COLUMNS} FROM resources WHERE target = $1 AND kind = $2 ORDER BY ${order} LIMIT $3 OFFSET $4`, [
            target,
            kind,
            SCAN_BATCH,
            offset,
          ]);
      for (const row of rows as ResourceRow[]) yield toResource(row);
      if (rows.length < SCAN_BATCH) return;
      after = (rows[rows.length - 1] as ResourceRow & { seq: string }).seq;
    }
  }

  private async listByLookups(target: string, kind: ResourceKind, query: ListQuery, lookups: IndexLookup[]): Promise<ListPage> {
    const ids = new Set<string>();
    for (const lookup of lookups) for (const id of await this.lookup(target, kind, lookup)) ids.add(id);
    const { rows } = await this.query(`SELECT ${COLUMNS} FROM resources WHERE target = $1 AND kind = $2 AND id = ANY($3) ORDER BY seq`, [
      target,
      kind,
      [...ids],
    ]);
    const matching = (rows as ResourceRow[]).map(toResource).filter((r) => !query.predicate || query.predicate(r));
    return pageOf(sortInMemory(matching, query.sort), { ...query, predicate: undefined, sort: undefined });
  }

  private async lookup(target: string, kind: ResourceKind, { attribute, value }: IndexLookup): Promise<string[]> {
    const by = async (column: string, v: string) =>
      ((await this.query(`SELECT id FROM resources WHERE target = $1 AND kind = $2 AND ${column} = $3`, [target, kind, v])).rows as { id: string }[]).map(
        (r) => r.id,
      );
    switch (attribute) {
      case "id":
        return by("id", value);
      case "userName":
        return by("name_key", value.toLowerCase());
      case "displayName":
        return by("display_key", value.toLowerCase());
      case "externalId":
        return by("external_id", value);
      case "emails":
        if (kind !== "User") return [];
        return (
          (await this.query("SELECT user_id AS id FROM user_emails WHERE target = $1 AND value_key = $2", [target, value.toLowerCase()])).rows as {
            id: string;
          }[]
        ).map((r) => r.id);
    }
  }

  async count(target: string, kind: ResourceKind): Promise<number> {
    return Number((await this.query("SELECT COUNT(*) AS n FROM resources WHERE target = $1 AND kind = $2", [target, kind])).rows[0].n);
  }

  async members(target: string, groupId: string): Promise<Member[]> {
    const { rows } = await this.query(
      `SELECT m.member_id AS value, m.display AS display, r.kind AS type
       FROM group_members m LEFT JOIN resources r ON r.id = m.member_id AND r.target = m.target
       WHERE m.group_id = $1 AND m.target = $2 ORDER BY m.seq`,
      [groupId, target],
    );
    return (rows as { value: string; display: string | null; type: ResourceKind | null }[]).map((r) => ({
      value: r.value,
      ...(r.display !== null ? { display: r.display } : {}),
      ...(r.type ? { type: r.type } : {}),
    }));
  }

  async addMembers(target: string, groupId: string, members: Member[]): Promise<StoredResource> {
    return this.changeMembers(target, groupId, (q) => this.insertMembers(q, target, groupId, members));
  }

  async removeMembers(target: string, groupId: string, memberIds: string[] | "all"): Promise<StoredResource> {
    return this.changeMembers(target, groupId, async (q) => {
      if (memberIds === "all") await q("DELETE FROM group_members WHERE group_id = $1", [groupId]);
      else await q("DELETE FROM group_members WHERE group_id = $1 AND member_id = ANY($2)", [groupId, memberIds]);
    });
  }

  async replaceMembers(target: string, groupId: string, members: Member[]): Promise<StoredResource> {
    return this.changeMembers(target, groupId, async (q) => {
      await q("DELETE FROM group_members WHERE group_id = $1", [groupId]);
      await this.insertMembers(q, target, groupId, members);
    });
  }

  async groupsOf(target: string, memberIds: string[]): Promise<Map<string, { id: string; displayName: string }[]>> {
    const result = new Map<string, { id: string; displayName: string }[]>(memberIds.map((id) => [id, []]));
    const { rows } = await this.query(
      `SELECT m.member_id AS member, r.id AS id, r.name AS name FROM group_members m JOIN resources r ON r.id = m.group_id
       WHERE m.target = $1 AND m.member_id = ANY($2) ORDER BY r.seq`,
      [target, memberIds],
    );
    for (const r of rows as { member: string; id: string; name: string }[]) result.get(r.member)!.push({ id: r.id, displayName: r.name });
    return result;
  }

  async recordLink(link: NewVendorLink): Promise<VendorLink> {
    return this.writeLink((text, values) => this.query(text, values), link);
  }

  private async writeLink(q: Query, link: NewVendorLink): Promise<VendorLink> {
    const createdAt = new Date().toISOString();
    const full: VendorLink = { state: "active", acknowledged: {}, ...link, createdAt };
    await q(
      `INSERT INTO vendor_links (target, scim_id, vendor, vendor_key, link, user_name, created_at, state, acknowledged) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (target, scim_id) DO UPDATE SET vendor = EXCLUDED.vendor, vendor_key = EXCLUDED.vendor_key, link = EXCLUDED.link,
         user_name = EXCLUDED.user_name, created_at = EXCLUDED.created_at, state = EXCLUDED.state, acknowledged = EXCLUDED.acknowledged, deleted_at = NULL`,
      [full.target, full.scimId, full.vendor, full.vendorKey, full.link, full.userName, createdAt, full.state, JSON.stringify(full.acknowledged)],
    );
    return full;
  }

  async updateLink(target: string, scimId: string, change: Parameters<Store["updateLink"]>[2]): Promise<void> {
    const sets: string[] = [];
    const values: unknown[] = [];
    const set = (column: string, value: unknown) => {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    };
    if (change.state !== undefined) set("state", change.state);
    if (change.acknowledged !== undefined) set("acknowledged", JSON.stringify(change.acknowledged));
    if (change.vendorKey !== undefined) set("vendor_key", change.vendorKey);
    if (change.link !== undefined) set("link", change.link);
    if (sets.length === 0) return;
    await this.query(`UPDATE vendor_links SET ${sets.join(", ")} WHERE target = $${values.length + 1} AND scim_id = $${values.length + 2}`, [
      ...values,
      target,
      scimId,
    ]);
  }

  async markLinkDeleted(target: string, scimId: string): Promise<void> {
    await this.query("UPDATE vendor_links SET deleted_at = $1 WHERE target = $2 AND scim_id = $3", [new Date().toISOString(), target, scimId]);
  }

  async linksOf(target: string, scimIds: string[]): Promise<Map<string, VendorLink>> {
    const { rows } = await this.query("SELECT * FROM vendor_links WHERE target = $1 AND scim_id = ANY($2)", [target, scimIds]);
    return new Map((rows as LinkRow[]).map((r) => [r.scim_id, toLink(r)]));
  }

  async linksHolding(targets: string[], vendorKey: string): Promise<VendorLink[]> {
    const { rows } = await this.query("SELECT * FROM vendor_links WHERE target = ANY($1) AND vendor_key = $2 AND deleted_at IS NULL AND state <> 'removed'", [
      targets,
      vendorKey,
    ]);
    return (rows as LinkRow[]).map(toLink);
  }

  async createCalls(target: string, nameHashes?: string[]): Promise<VendorCallRecord[]> {
    const where = `target = $1 AND operation = 'create' AND outcome IN ('success', 'deadline', 'transient')`;
    const { rows } = nameHashes
      ? await this.query(`SELECT ${VENDOR_CALL_COLUMNS} FROM vendor_calls WHERE ${where} AND name_hash = ANY($2) ORDER BY seq DESC`, [target, nameHashes])
      : await this.query(`SELECT ${VENDOR_CALL_COLUMNS} FROM vendor_calls WHERE ${where} ORDER BY seq DESC`, [target]);
    return (rows as VendorCallRow[]).map(toVendorCall);
  }

  async kindsOf(target: string, ids: string[]): Promise<Map<string, ResourceKind>> {
    const { rows } = await this.query("SELECT id, kind FROM resources WHERE target = $1 AND id = ANY($2)", [target, [...new Set(ids)]]);
    return new Map((rows as { id: string; kind: ResourceKind }[]).map((r) => [r.id, r.kind]));
  }

  async allLinks(target: string): Promise<VendorLink[]> {
    return ((await this.query("SELECT * FROM vendor_links WHERE target = $1 ORDER BY created_at", [target])).rows as LinkRow[]).map(toLink);
  }

  async recordVendorCall(record: VendorCallRecord): Promise<void> {
    await this.query(
      `INSERT INTO vendor_calls (${VENDOR_CALL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      vendorCallValues(record),
    );
  }

  async vendorCalls(target: string, filter: { scimId?: string; limit: number }): Promise<VendorCallRecord[]> {
    const { rows } = filter.scimId
      ? await this.query(`SELECT ${VENDOR_CALL_COLUMNS} FROM vendor_calls WHERE target = $1 AND scim_id = $2 ORDER BY seq DESC LIMIT $3`, [
          target,
          filter.scimId,
          filter.limit,
        ])
      : await this.query(`SELECT ${VENDOR_CALL_COLUMNS} FROM vendor_calls WHERE target = $1 ORDER BY seq DESC LIMIT $2`, [target, filter.limit]);
    return (rows as VendorCallRow[]).map(toVendorCall);
  }

  async pruneVendorCalls(before: string): Promise<number> {
    return (await this.query("DELETE FROM vendor_calls WHERE at < $1", [before])).rowCount ?? 0;
  }

  async groupLinkOf(target: string, scimGroupId: string): Promise<VendorGroupLink | undefined> {
    const row = (await this.query("SELECT * FROM vendor_group_links WHERE target = $1 AND scim_id = $2", [target, scimGroupId])).rows[0] as
      { vendor_group_id: string; created_by_bridge: boolean } | undefined;
    return row ? { target, scimId: scimGroupId, vendorGroupId: row.vendor_group_id, createdByBridge: row.created_by_bridge } : undefined;
  }

  async recordGroupLink(link: VendorGroupLink): Promise<void> {
    await this.query(
      `INSERT INTO vendor_group_links (target, scim_id, vendor_group_id, created_by_bridge, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (target, scim_id) DO UPDATE SET vendor_group_id = EXCLUDED.vendor_group_id, created_by_bridge = EXCLUDED.created_by_bridge`,
      [link.target, link.scimId, link.vendorGroupId, link.createdByBridge, new Date().toISOString()],
    );
  }

  async removeGroupLink(target: string, scimGroupId: string): Promise<void> {
    await this.query("DELETE FROM vendor_group_links WHERE target = $1 AND scim_id = $2", [target, scimGroupId]);
  }

  private async writeEmails(q: Query, target: string, userId: string, emails: string[]): Promise<void> {
    await q("DELETE FROM user_emails WHERE user_id = $1", [userId]);
    const unique = [...new Set(emails.map((e) => e.toLowerCase()))];
    if (unique.length > 0) await q("INSERT INTO user_emails (target, user_id, value_key) SELECT $1, $2, unnest($3::text[])", [target, userId, unique]);
  }

  private async insertMembers(q: Query, target: string, groupId: string, members: Member[]): Promise<void> {
    if (members.length === 0) return;
    await q(
      `INSERT INTO group_members (target, group_id, member_id, display)
       SELECT $1, $2, m.value, m.display FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS m(value, display, n) ORDER BY m.n
       ON CONFLICT (group_id, member_id) DO UPDATE SET display = COALESCE(EXCLUDED.display, group_members.display)`,
      [target, groupId, members.map((m) => m.value), members.map((m) => m.display ?? null)],
    );
  }

  private async changeMembers(target: string, groupId: string, change: (q: Query) => Promise<void>): Promise<StoredResource> {
    return this.transaction(async (q) => {
      const exists = (await q("SELECT 1 FROM resources WHERE id = $1 AND target = $2 AND kind = 'Group' FOR UPDATE", [groupId, target])).rowCount;
      if (!exists) throw new NotFoundError("Group", groupId);
      await change(q);
      await this.touch(q, groupId);
      const row = (await q(`SELECT ${COLUMNS} FROM resources WHERE id = $1`, [groupId])).rows[0] as ResourceRow;
      return toResource(row);
    });
  }

  private async touch(q: Query, groupId: string): Promise<void> {
    await q("UPDATE resources SET version = version + 1, last_modified = $1 WHERE id = $2", [new Date().toISOString(), groupId]);
  }
}

/**
 * The scale-out store's plumbing: PostgreSQL through `pg`. Several bridge processes may share one database:
 * uniqueness is the database's, a write checks the version it read, and migrations take an advisory lock.
 *
 * A writer holds its resource's advisory lock on one pooled connection, and every query it makes while
 * holding it runs on that same connection (found through AsyncLocalStorage): a writer never waits for a
 * second connection while holding one, so any number of concurrent writers share any pool size without
 * deadlock. A lost connection (failover, restart, an idle reaper) is a StoreUnavailableError — the request
 * answers 503 — and the pool makes new connections once the database is back.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import type { Logger } from "../../log";
import type { AdminStore } from "../admin/port";
import { PLACEHOLDER, type Database, type Dialect, type Params, type Sql, type Transaction } from "../database";
import { postgresMigrations, refuseNewerSchema } from "../migrations";
import { StoreUnavailableError } from "../types";

/** Any constant: the key of the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 7_210_443;

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

export const POSTGRES_DIALECT: Dialect = {
  isAnyOf: (column, name) => `${column} = ANY(:${name})`,
  elements: (name, alias) => `jsonb_array_elements(CAST(:${name} AS jsonb)) WITH ORDINALITY AS ${alias}(value, key)`,
  greatest: "GREATEST",
  bigint: (expression) => `${expression}::bigint`,
  forUpdate: " FOR UPDATE",
  skipLocked: " FOR UPDATE SKIP LOCKED",
  clockMs: "(extract(epoch from clock_timestamp()) * 1000)::float8",
  isUniqueViolation: (error) => (error as { code?: string }).code === "23505",
};

/** `:name` placeholders as PostgreSQL's `$n` (a `::cast` is left alone), and the values in their order. */
export function positional(sql: string, params: Params): { text: string; values: unknown[] } {
  const names: string[] = [];
  const text = sql.replace(PLACEHOLDER, (_, name: string) => {
    let n = names.indexOf(name);
    if (n < 0) n = names.push(name) - 1;
    return `$${n + 1}`;
  });
  return { text, values: names.map((name) => params[name] ?? null) };
}

/** A statement with positional parameters, as the per-database reading strategies write the ones they build. */
export type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

/** Named statements over a positional query function. */
function namedOver(query: Query): Sql {
  const run = (sql: string, params: Params = {}) => {
    const { text, values } = positional(sql, params);
    return query(text, values);
  };
  return {
    rows: async <Row>(sql: string, params?: Params) => (await run(sql, params)).rows as Row[],
    row: async <Row>(sql: string, params?: Params) => (await run(sql, params)).rows[0] as Row | undefined,
    run: async (sql: string, params?: Params) => (await run(sql, params)).rowCount ?? 0,
  };
}

/** The connection a writer holds with its advisory locks; its queries (and transactions) run on it. */
interface HeldConnection {
  client: pg.PoolClient;
  keys: Set<string>;
  inTransaction: boolean;
}

export interface PostgresOptions {
  poolSize?: number;
  /** A schema of its own (created if missing), so several bridges or test runs can share a database. */
  schema?: string;
  log?: Logger;
  /** How long a request waits for a pooled connection before it answers 503. */
  connectTimeoutMs?: number;
}

export class PostgresDatabase implements Database, AdminStore {
  readonly kind = "postgres" as const;
  readonly dialect = POSTGRES_DIALECT;
  private readonly pool: pg.Pool;
  private readonly held = new AsyncLocalStorage<HeldConnection>();
  private readonly schema?: string;
  private readonly log?: Logger;
  private readonly named = namedOver((text, values) => this.query(text, values));

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

  rows<Row>(sql: string, params?: Params): Promise<Row[]> {
    return this.named.rows<Row>(sql, params);
  }

  row<Row>(sql: string, params?: Params): Promise<Row | undefined> {
    return this.named.row<Row>(sql, params);
  }

  run(sql: string, params?: Params): Promise<number> {
    return this.named.run(sql, params);
  }

  /** A positional statement, on the connection the caller holds if it holds one. */
  async query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    const held = this.held.getStore();
    try {
      return await (held ? held.client.query(text, values) : this.pool.query(text, values));
    } catch (error) {
      throw storeErrorOf(error);
    }
  }

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const hooks: (() => void)[] = [];
    return this.inTransaction((q) => work({ ...namedOver(q), afterCommit: (hook) => void hooks.push(hook) })).then((result) => {
      for (const hook of hooks) hook();
      return result;
    });
  }

  /** A transaction of positional statements (on the held connection, if the caller holds one). */
  async inTransaction<T>(work: (q: Query) => Promise<T>): Promise<T> {
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

  async migrate(): Promise<number> {
    if (this.schema) await this.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    return this.inTransaction(async (q) => {
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
}

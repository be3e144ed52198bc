/**
 * The embedded store's plumbing: one SQLite file in WAL mode, through better-sqlite3 (synchronous, one
 * connection for the process, so writes are serial).
 *
 * Every operation runs through `attempt`, which turns the file's failures into StoreUnavailableError (the
 * request answers 503 and names the store): a file removed or replaced while running (its writes would be
 * lost at restart), a read-only file, a full disk, and a lock another process holds. SQLite's own busy wait
 * would block the event loop — every target's requests — for the whole wait, so it is off, and the wait is
 * done here, asynchronously, within a bound.
 *
 * A transaction's body may await (it is written once for both databases), and the one connection serves
 * every request meanwhile: while a transaction is open, statements from outside it wait for its end, so
 * none of them runs inside it.
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite from "better-sqlite3";
import type { AdminStore } from "../admin/port";
import { PLACEHOLDER, type Database, type Dialect, type Params, type Transaction } from "../database";
import { refuseNewerSchema, sqliteMigrations } from "../migrations";
import { StoreUnavailableError } from "../types";
import { ScanWorker } from "./scan-worker";

function isBusy(error: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test(String((error as { code?: unknown })?.code ?? ""));
}

/** SQLite result codes of a file that cannot be used now, as the reason the IdP and the operator read. */
function unavailableReason(error: unknown): string | undefined {
  const code = String((error as { code?: unknown })?.code ?? "");
  if (isBusy(error)) return "the SQLite file is locked by another process";
  if (code.startsWith("SQLITE_READONLY")) return "the SQLite file is read-only";
  if (code === "SQLITE_FULL") return "the disk holding the SQLite file is full";
  if (/^SQLITE_(IOERR|CANTOPEN|NOTADB|CORRUPT)/.test(code)) return `the SQLite file cannot be used (${code})`;
  return undefined;
}

/**
 * SQLite's own busy wait, in ms: none. It blocks the event loop for as long as it waits, once per waiting
 * operation: even 20 ms a try, with a few writers retrying against another process's lock, held /healthz
 * for over a second. A lock held elsewhere is waited for in `attempt`, asynchronously.
 */
const SYNC_BUSY_MS = 0;

export const SQLITE_DIALECT: Dialect = {
  isAnyOf: (column, name) => `${column} IN (SELECT value FROM json_each(:${name}))`,
  elements: (name, alias) => `json_each(:${name}) AS ${alias}`,
  greatest: "MAX",
  bigint: (expression) => expression,
  forUpdate: "",
  skipLocked: "",
  clockMs: ":now",
  isUniqueViolation: (error) => (error as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE",
};

/** The `:name` placeholders of a statement's text. */
function placeholders(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(PLACEHOLDER), (m) => m[1]!))];
}

/** A value as better-sqlite3 binds it: a boolean as 1 or 0, absent as NULL, a list as JSON text (json_each reads it). */
function bindable(value: unknown): unknown {
  return value === undefined ? null : typeof value === "boolean" ? (value ? 1 : 0) : Array.isArray(value) ? JSON.stringify(value) : value;
}

/** The values of a statement's placeholders (the caller's own object when none needs converting: most calls). */
function valuesOf(names: string[], params: Params): Params {
  if (names.every((name) => bindable(params[name]) === params[name])) return params;
  return Object.fromEntries(names.map((name) => [name, bindable(params[name])]));
}

/** A statement with named placeholders, prepared once. */
interface Named {
  statement: BetterSqlite.Statement;
  names: string[];
}

export interface SqliteOptions {
  /** How long an operation waits for a lock another process holds before it answers 503. */
  busyBudgetMs?: number;
  /** How long one chunk of a filter scan may hold the event loop (default 4 ms). */
  scanChunkMs?: number;
  /** Scans in a worker thread (default, for a file): false keeps them on the event loop, in chunks. */
  scanWorker?: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * At most one transaction open on the connection; statements from outside it wait until it ends. A waiter
 * loops on `ended` and goes on in the same turn as its last check (no pause in between), so two waiters
 * never both find the connection free.
 */
class TransactionGate {
  /** Settles when the open transaction ends; undefined while none is open. */
  ended?: Promise<void>;

  /** Marks a transaction open (the caller found `ended` undefined); answers its release. */
  open(): () => void {
    let release!: () => void;
    this.ended = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.ended = undefined;
      release();
    };
  }
}

export class SqliteDatabase implements Database, AdminStore {
  readonly kind = "sqlite" as const;
  readonly dialect = SQLITE_DIALECT;
  /** The connection, for the reading strategies that run synchronous statements inside one `attempt`. */
  readonly connection: BetterSqlite.Database;
  /** Scans of filters SQLite evaluates run here, off the event loop (a file only: memory has no second connection). */
  readonly scanWorker?: ScanWorker;
  private readonly busyBudgetMs: number;
  /** The file the connection opened, by device and inode: a file at the path that differs is not ours. */
  private readonly file?: { path: string; dev: number; ino: number };
  private readonly gate = new TransactionGate();
  /** Statements prepared once per store, by their text (preparing costs more than running most of them). */
  private readonly statements = new Map<string, Named>();

  constructor(path: string, options: SqliteOptions = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.busyBudgetMs = options.busyBudgetMs ?? 5_000;
    this.connection = new BetterSqlite(path);
    this.connection.pragma(`busy_timeout = ${SYNC_BUSY_MS}`);
    this.connection.pragma("journal_mode = WAL");
    this.connection.pragma("synchronous = NORMAL");
    this.connection.pragma("foreign_keys = ON");
    // The filter translation's lower(): JavaScript's, as the in-memory predicate lowers (SQLite's own folds ASCII only).
    this.connection.function("scim_lower", { deterministic: true }, (text: unknown) => (typeof text === "string" ? text.toLowerCase() : text));
    if (path !== ":memory:") {
      const { dev, ino } = statSync(path);
      this.file = { path, dev, ino };
      if (options.scanWorker !== false) this.scanWorker = new ScanWorker(path);
    }
  }

  /** A statement prepared once (its text is the bridge's own, never an IdP's). */
  statement(text: string): BetterSqlite.Statement {
    return this.prepared(text).statement;
  }

  private prepared(text: string): Named {
    let named = this.statements.get(text);
    if (!named) {
      named = { statement: this.connection.prepare(text), names: placeholders(text) };
      this.statements.set(text, named);
    }
    return named;
  }

  /** A statement with `:name` placeholders, prepared once, and its values bound. */
  private bound(text: string, params: Params): { statement: BetterSqlite.Statement; values: Params } {
    const { statement, names } = this.prepared(text);
    return { statement, values: valuesOf(names, params) };
  }

  /** The opened file is still the one at its path (not removed, not replaced). */
  private checkFile(): void {
    if (!this.file) return;
    let now: { dev: number; ino: number } | undefined;
    try {
      now = statSync(this.file.path);
    } catch {
      now = undefined;
    }
    if (!now || now.dev !== this.file.dev || now.ino !== this.file.ino)
      throw new StoreUnavailableError(
        "the SQLite file was removed or replaced while the bridge ran; restore it and restart the bridge",
        new Error(`${this.file.path} is not the file the bridge opened`),
      );
  }

  /**
   * Runs one operation: after any open transaction, the file checked before (and after a write: a write into
   * a removed file is lost at restart, so it is never acknowledged; `reads` says there is none), a lock held
   * elsewhere waited for without blocking the event loop. A synchronous operation runs without a pause, so
   * nothing interleaves with it.
   */
  async attempt<T>(operation: () => T | Promise<T>, reads = false): Promise<T> {
    const started = Date.now();
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      try {
        while (this.gate.ended) await this.gate.ended;
        this.checkFile();
        const done = operation();
        const result = done instanceof Promise ? await done : done;
        if (!reads) this.checkFile();
        return result;
      } catch (error) {
        if (isBusy(error) && Date.now() - started + wait <= this.busyBudgetMs) {
          // Jittered, so operations waiting for the same lock do not all try again at once.
          await sleep(wait * (0.5 + Math.random()));
          continue;
        }
        const reason = unavailableReason(error);
        throw reason ? new StoreUnavailableError(reason, error) : error;
      }
    }
  }

  rows<Row>(sql: string, params: Params = {}): Promise<Row[]> {
    return this.attempt(() => this.allOf<Row>(sql, params), this.readsOnly(sql));
  }

  row<Row>(sql: string, params: Params = {}): Promise<Row | undefined> {
    return this.attempt(() => this.firstOf<Row>(sql, params), this.readsOnly(sql));
  }

  run(sql: string, params: Params = {}): Promise<number> {
    return this.attempt(() => this.changesOf(sql, params));
  }

  /** The statement writes nothing (a SELECT, not an UPDATE … RETURNING); one it cannot prepare is left to `attempt`. */
  private readsOnly(sql: string): boolean {
    try {
      return this.prepared(sql).statement.readonly;
    } catch {
      return false;
    }
  }

  private allOf<Row>(sql: string, params: Params): Row[] {
    const { statement, values } = this.bound(sql, params);
    return statement.all(values) as Row[];
  }

  private firstOf<Row>(sql: string, params: Params): Row | undefined {
    const { statement, values } = this.bound(sql, params);
    return statement.get(values) as Row | undefined;
  }

  private changesOf(sql: string, params: Params): number {
    const { statement, values } = this.bound(sql, params);
    return statement.run(values).changes;
  }

  /** The whole transaction is one attempt: a lock held elsewhere rolls it back, and it runs again once free. */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.attempt(() => this.once(work));
  }

  /** One try of a transaction; `attempt` calls it in the same turn as it found no transaction open. */
  private async once<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const release = this.gate.open();
    const hooks: (() => void)[] = [];
    const run = <R>(statement: () => R) => {
      try {
        return Promise.resolve(statement());
      } catch (error) {
        return Promise.reject(error);
      }
    };
    const tx: Transaction = {
      rows: <Row>(sql: string, params: Params = {}) => run(() => this.allOf<Row>(sql, params)),
      row: <Row>(sql: string, params: Params = {}) => run(() => this.firstOf<Row>(sql, params)),
      run: (sql, params = {}) => run(() => this.changesOf(sql, params)),
      afterCommit: (hook) => void hooks.push(hook),
    };
    try {
      this.statement("BEGIN").run();
      const result = await work(tx);
      this.statement("COMMIT").run();
      for (const hook of hooks) hook();
      return result;
    } catch (error) {
      if (this.connection.inTransaction) this.statement("ROLLBACK").run();
      throw error;
    } finally {
      release();
    }
  }

  async migrate(): Promise<number> {
    this.connection.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    const row = this.statement("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations").get() as { v: number };
    refuseNewerSchema(row.v, sqliteMigrations);
    let applied = 0;
    for (const migration of sqliteMigrations.filter((m) => m.version > row.v)) {
      this.connection.transaction(() => {
        this.connection.exec(migration.sql);
        this.statement("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
          migration.version,
          migration.name,
          new Date().toISOString(),
        );
      })();
      applied++;
    }
    return applied;
  }

  /** One process owns the file: the in-process lock already serialises writers. */
  async exclusive<T>(_key: string, work: () => Promise<T>): Promise<T> {
    return work();
  }

  /** One connection, no held state: nothing to step out of. */
  detached<T>(work: () => T): T {
    return work();
  }

  /** Readiness: the file is in place and takes a write (tried inside a transaction that is rolled back). */
  async ping(): Promise<void> {
    await this.attempt(() => {
      this.connection.exec("SAVEPOINT readiness");
      try {
        this.statement("INSERT INTO schema_migrations (version, name, applied_at) VALUES (-1, 'readiness probe', '')").run();
      } finally {
        this.connection.exec("ROLLBACK TO readiness; RELEASE readiness");
      }
    });
  }

  async close(): Promise<void> {
    await this.scanWorker?.close();
    this.connection.close();
  }
}

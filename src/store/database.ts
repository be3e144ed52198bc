/**
 * What every aggregate of the store writes its SQL against: statements with named parameters (`:name`),
 * transactions, and the few places where SQLite and PostgreSQL spell a thing differently (the Dialect).
 * Each database implements it in one file (sqlite/database.ts, postgres/database.ts); an aggregate writes
 * each statement once.
 */

/** A statement's values, by the names its `:name` placeholders use. */
export type Params = Record<string, unknown>;

/** A `:name` placeholder in a statement's text (PostgreSQL's `::type` casts are none). */
export const PLACEHOLDER = /(?<![:\w]):([A-Za-z_]\w*)/g;

/**
 * Runs statements. Values bind as they are, with these conversions: a boolean binds as the database's
 * boolean (SQLite: 1 or 0), undefined as NULL, an array as a list (for `Dialect.isAnyOf`).
 */
export interface Sql {
  /** Every row the statement answers. */
  rows<Row>(sql: string, params?: Params): Promise<Row[]>;
  /** The statement's first row, if any. */
  row<Row>(sql: string, params?: Params): Promise<Row | undefined>;
  /** A write: how many rows it changed. */
  run(sql: string, params?: Params): Promise<number>;
}

/** The statements of one transaction. */
export interface Transaction extends Sql {
  /** Runs `hook` once the transaction has committed, before any other statement reaches the database. */
  afterCommit(hook: () => void): void;
}

export interface Database extends Sql {
  readonly dialect: Dialect;
  /**
   * Runs `work` in one transaction, its statements through `tx` only: all of them or none land, and no
   * statement from outside the transaction runs inside it. A failure to reach the database is a
   * StoreUnavailableError.
   */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
}

/** Where SQLite and PostgreSQL differ, as fragments of SQL a statement written once puts in its text. */
export interface Dialect {
  /** `column` equals one of the values of the list parameter `name` (bound as an array). */
  isAnyOf(column: string, name: string): string;
  /**
   * The elements of the parameter `name`, a JSON array of objects bound as its text, as a table `alias`
   * with columns `value` (the object: read its fields with `value ->> 'field'`) and `key` (its place in the
   * array, for ORDER BY).
   */
  elements(name: string, alias: string): string;
  /** The larger of two values. */
  greatest: "MAX" | "GREATEST";
  /** A parameter or expression that must be read as a 64-bit integer (PostgreSQL infers no type for some). */
  bigint(expression: string): string;
  /** Appended to a SELECT in a transaction: the rows read stay locked until it ends (SQLite has one writer at a time). */
  forUpdate: string;
  /** Appended to a SELECT that claims rows: rows another transaction holds are passed over rather than waited for. */
  skipLocked: string;
  /** The database's clock in ms since the epoch, one for every process sharing it; SQLite's is the `:now` parameter. */
  clockMs: string;
  /** The error is a UNIQUE constraint's. */
  isUniqueViolation(error: unknown): boolean;
}

/**
 * `column` is one of `values`: the condition, and its parameter `name`. A single value, the common case
 * (one user's groups, link or work), is compared directly: SQLite then reads no JSON list.
 */
export function oneOf(dialect: Dialect, column: string, name: string, values: unknown[]): { condition: string; params: Params } {
  return values.length === 1
    ? { condition: `${column} = :${name}`, params: { [name]: values[0] } }
    : { condition: dialect.isAnyOf(column, name), params: { [name]: values } };
}

/** A JSON column as it is read back: SQLite answers its text, PostgreSQL (JSONB) the value. */
export type JsonColumn<T> = T | string;

export function fromJson<T>(value: JsonColumn<T>): T {
  return typeof value === "string" ? (JSON.parse(value) as T) : value;
}

/**
 * The embedded store: one SQLite file in WAL mode, through better-sqlite3 (synchronous, so writes are serial).
 *
 * Every operation runs through `attempt`, which turns the file's failures into StoreUnavailableError (the
 * request answers 503 and names the store): a file removed or replaced while running (its writes would be
 * lost at restart), a read-only file, a full disk, and a lock another process holds. SQLite's own busy wait
 * would block the event loop — every target's requests — for the whole wait, so it is off, and the wait is
 * done here, asynchronously, within a bound.
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { refuseNewerSchema, sqliteMigrations } from "./migrations";
import { enqueueSql, OPEN_DEPROVISION_SINCE, settleSql, SQLITE } from "./outbox-sql";
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
  type SortColumn,
  FilterTooCostlyError,
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
} from "./types";
import { pageOf, sortInMemory } from "./paging";
import { KeyedLock } from "../lib/keyed-lock";
import { ScanWorker } from "./scan-worker";
import { sqliteCondition, timeRangeOf, type SqlCondition } from "./filter-sql";
import { budgetOf, checkRowBudget, FIRST_CHUNK, SCAN_CHUNK_MS, nextChunkSize, PageAnchors, PageCollector, yieldToOthers } from "./scan";
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

const COLUMNS = "id, kind, doc, created, last_modified, version";

const ENQUEUE = enqueueSql(SQLITE);
const SETTLE = settleSql(SQLITE);

function lower(value: string | undefined): string | null {
  return value === undefined ? null : value.toLowerCase();
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE";
}

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

/** The most matches of an indexed time range that are ordered in one statement (more are read in chunks). */
const RANGE_SORT_LIMIT = 10_000;

/**
 * SQLite's own busy wait, in ms: none. It blocks the event loop for as long as it waits, once per waiting
 * operation: even 20 ms a try, with a few writers retrying against another process's lock, held /healthz
 * for over a second. A lock held elsewhere is waited for in `attempt`, asynchronously.
 */
const SYNC_BUSY_MS = 0;

export interface SqliteOptions {
  /** How long an operation waits for a lock another process holds before it answers 503. */
  busyBudgetMs?: number;
  /** How long one chunk of a filter scan may hold the event loop (default 4 ms). */
  scanChunkMs?: number;
  /** Scans in a worker thread (default, for a file): false keeps them on the event loop, in chunks. */
  scanWorker?: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class SqliteStore implements Store {
  readonly kind = "sqlite" as const;
  private readonly db: Database.Database;
  private readonly busyBudgetMs: number;
  private readonly scanChunkMs: number;
  /** The file the connection opened, by device and inode: a file at the path that differs is not ours. */
  private readonly file?: { path: string; dev: number; ino: number };

  constructor(path: string, options: SqliteOptions = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.busyBudgetMs = options.busyBudgetMs ?? 5_000;
    this.scanChunkMs = options.scanChunkMs ?? SCAN_CHUNK_MS;
    this.db = new Database(path);
    this.db.pragma(`busy_timeout = ${SYNC_BUSY_MS}`);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    // The filter translation's lower(): JavaScript's, as the in-memory predicate lowers (SQLite's own folds ASCII only).
    this.db.function("scim_lower", { deterministic: true }, (text: unknown) => (typeof text === "string" ? text.toLowerCase() : text));
    if (path !== ":memory:") {
      const { dev, ino } = statSync(path);
      this.file = { path, dev, ino };
      if (options.scanWorker !== false) this.scanWorker = new ScanWorker(path);
    }
  }

  /** Bumped by every write of a resource: the page anchors remembered are of one generation. */
  private generation = 0;
  /** Resources per target and kind, counted once, then kept by creates and removes (one process owns the file). */
  private readonly counts = new Map<string, number>();
  private readonly anchors = new PageAnchors();
  private readonly scanTurns = new KeyedLock();
  /** Scans of filters SQLite evaluates run here, off the event loop (a file only: memory has no second connection). */
  private readonly scanWorker?: ScanWorker;

  /** Statements prepared once per store, by their text (preparing costs more than running most of them). */
  private readonly statements = new Map<string, Database.Statement>();

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
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
   * Runs one operation: the file checked before and after (a write into a removed file is lost at restart,
   * so it is never acknowledged), a lock held elsewhere waited for without blocking the event loop.
   */
  private async attempt<T>(operation: () => T): Promise<T> {
    const started = Date.now();
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      try {
        this.checkFile();
        const result = operation();
        this.checkFile();
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

  async migrate(): Promise<number> {
    this.db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    const row = this.sql("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations").get() as { v: number };
    refuseNewerSchema(row.v, sqliteMigrations);
    let applied = 0;
    for (const migration of sqliteMigrations.filter((m) => m.version > row.v)) {
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(migration.version, migration.name, new Date().toISOString());
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
      this.db.exec("SAVEPOINT readiness");
      try {
        this.sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES (-1, 'readiness probe', '')").run();
      } finally {
        this.db.exec("ROLLBACK TO readiness; RELEASE readiness");
      }
    });
  }

  async close(): Promise<void> {
    await this.scanWorker?.close();
    this.db.close();
  }

  async create<K extends ResourceKind>(target: string, kind: K, id: string, doc: ScimDocument, keys: KeysOf<K>, work?: WorkOrder): Promise<StoredResource> {
    return this.attempt(() => {
      const now = new Date().toISOString();
      const name = "userName" in keys ? (keys as UserKeys).userName : keys.displayName;
      try {
        this.db.transaction(() => {
          this.sql(
            `INSERT INTO resources (target, kind, id, name, name_key, external_id, display_key, doc, created, last_modified, version)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
          ).run(target, kind, id, name, name.toLowerCase(), keys.externalId ?? null, lower(keys.displayName), JSON.stringify(doc), now, now);
          if ("emails" in keys) this.writeEmails(target, id, (keys as UserKeys).emails);
          if (work) this.writeWork(target, id, work);
          this.generation++;
        })();
        this.countChanged(target, kind, 1);
      } catch (error) {
        if (isUniqueViolation(error)) throw new UniquenessError(kind === "User" ? "userName" : "id");
        throw error;
      }
      return { id, kind, doc, created: now, lastModified: now, version: 1 };
    });
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
    return this.attempt(() => {
      const now = new Date().toISOString();
      const name = "userName" in keys ? (keys as UserKeys).userName : keys.displayName;
      try {
        return this.db.transaction(() => {
          const current = this.row(target, kind, id);
          if (!current) throw new NotFoundError(kind, id);
          if (expectedVersion !== undefined && current.version !== expectedVersion) throw new VersionMismatchError(current.version);
          this.sql(
            `UPDATE resources SET name = ?, name_key = ?, external_id = ?, display_key = ?, doc = ?, last_modified = ?, version = version + 1
               WHERE id = ?`,
          ).run(name, name.toLowerCase(), keys.externalId ?? null, lower(keys.displayName), JSON.stringify(doc), now, id);
          if ("emails" in keys) this.writeEmails(target, id, (keys as UserKeys).emails);
          if (work) this.writeWork(target, id, work);
          this.generation++;
          return { id, kind, doc, created: current.created, lastModified: now, version: current.version + 1 };
        })();
      } catch (error) {
        if (isUniqueViolation(error)) throw new UniquenessError("userName");
        throw error;
      }
    });
  }

  async get(target: string, kind: ResourceKind, id: string): Promise<StoredResource | undefined> {
    return this.attempt(() => {
      const row = this.row(target, kind, id);
      return row ? toResource(row) : undefined;
    });
  }

  async remove(target: string, kind: ResourceKind, id: string, expectedVersion?: number, work?: WorkOrder): Promise<void> {
    return this.attempt(() => {
      this.db.transaction(() => {
        const current = this.row(target, kind, id);
        if (!current) throw new NotFoundError(kind, id);
        if (expectedVersion !== undefined && current.version !== expectedVersion) throw new VersionMismatchError(current.version);
        // A deleted resource stops being a member of any group (RFC 7644 §3.6).
        const groups = this.sql("SELECT group_id FROM group_members WHERE target = ? AND member_id = ?").all(target, id) as { group_id: string }[];
        this.sql("DELETE FROM group_members WHERE target = ? AND member_id = ?").run(target, id);
        for (const g of groups) this.touch(g.group_id);
        this.sql("DELETE FROM resources WHERE id = ?").run(id);
        this.generation++;
        if (work) this.writeWork(target, id, work);
      })();
      this.countChanged(target, kind, -1);
    });
  }

  async list(target: string, kind: ResourceKind, query: ListQuery): Promise<ListPage> {
    if (query.lookups) {
      const lookups = query.lookups;
      return this.attempt(() => this.listByLookups(target, kind, query, lookups));
    }
    const filtered = Boolean(query.predicate || query.filter);
    if (!filtered && !query.sort) return this.attempt(() => this.listInOrder(target, kind, query));
    const condition = query.filter ? sqliteCondition(query.filter, kind) : undefined;
    const columnSort = query.sort && "column" in query.sort ? query.sort : undefined;
    if (!filtered && columnSort) return this.attempt(() => this.listWhere(target, kind, query, columnSort, undefined));
    // A time range (incremental imports) is answered by the last_modified / created index, unless it matches
    // so many that ordering them would hold the event loop: those are read in chunks like any scan.
    if (condition && query.filter && timeRangeOf(query.filter) && (!query.sort || columnSort)) {
      const matches = await this.attempt(() => this.countWhere(target, kind, condition));
      if (matches <= RANGE_SORT_LIMIT) return this.attempt(() => this.listWhere(target, kind, query, columnSort, condition));
    }
    return this.scan(target, kind, query, condition);
  }

  /** The default order: from the nearest page anchor, else skipping over the covering index (never the documents). */
  private listInOrder(target: string, kind: ResourceKind, query: ListQuery): ListPage {
    const total = this.countOf(target, kind);
    const list = `${target}\u0000${kind}`;
    const anchor = this.anchors.nearest(list, this.generation, query.startIndex);
    const rows = (
      anchor
        ? this.sql(`SELECT seq, ${COLUMNS} FROM resources WHERE target = ? AND kind = ? AND seq >= ? ORDER BY seq LIMIT ? OFFSET ?`).all(
            target,
            kind,
            anchor.seq,
            query.count,
            query.startIndex - anchor.position,
          )
        : this.sql(
            `SELECT seq, ${COLUMNS} FROM resources WHERE seq IN (SELECT seq FROM resources WHERE target = ? AND kind = ? ORDER BY seq LIMIT ? OFFSET ?) ORDER BY seq`,
          ).all(target, kind, query.count, query.startIndex - 1)
    ) as (ResourceRow & { seq: number })[];
    if (rows.length > 0) {
      this.anchors.learn(list, this.generation, query.startIndex, rows[0]!.seq);
      this.anchors.learn(list, this.generation, query.startIndex + rows.length, rows[rows.length - 1]!.seq + 1);
    }
    return { total, resources: rows.map(toResource) };
  }

  /** A condition the database answers from an index (or none), ordered by a column or insertion. */
  private listWhere(
    target: string,
    kind: ResourceKind,
    query: ListQuery,
    sort: { column: SortColumn; descending: boolean } | undefined,
    condition: SqlCondition | undefined,
  ): ListPage {
    const order = sort ? `${SORT_COLUMN[sort.column]} ${sort.descending ? "DESC" : "ASC"}, seq ASC` : "seq ASC";
    const where = `target = ? AND kind = ?${condition ? ` AND (${condition.sql})` : ""}`;
    const values = [target, kind, ...(condition?.params ?? [])];
    // Filter text is the IdP's: these statements are prepared for this call, not kept.
    const prepare = (text: string) => (condition ? this.db.prepare(text) : this.sql(text));
    const total = condition ? this.countWhere(target, kind, condition) : this.countOf(target, kind);
    const rows = prepare(`SELECT ${COLUMNS} FROM resources WHERE ${where} ORDER BY ${order} LIMIT ? OFFSET ?`).all(
      ...values,
      query.count,
      query.startIndex - 1,
    ) as ResourceRow[];
    return { total, resources: rows.map(toResource) };
  }

  /**
   * A filter no index answers, within the target's budget of rows and time. Translated to SQL, it is
   * evaluated by the scan worker (off the event loop); otherwise (a database in memory, a filter SQL cannot
   * say, a worker that failed) here, in chunks of a few milliseconds in insertion order, the event loop given
   * back between chunks so other requests go on.
   */
  private async scan(target: string, kind: ResourceKind, query: ListQuery, condition: SqlCondition | undefined): Promise<ListPage> {
    checkRowBudget(query, kind, await this.attempt(() => this.countOf(target, kind)));
    const started = Date.now();
    // One scan at a time: requests then wait for at most one chunk, and the waiting counts against the budget.
    return this.scanTurns.run("scan", () => this.scanNow(target, kind, query, condition, started));
  }

  /** The scan itself, its turn come; `started` is when it was asked for (the wait counts against the budget). */
  private async scanNow(target: string, kind: ResourceKind, query: ListQuery, condition: SqlCondition | undefined, started: number): Promise<ListPage> {
    const { ms: allowedMs } = budgetOf(query);
    const collector = new PageCollector(query);
    const sortColumn = query.sort && "column" in query.sort ? SORT_COLUMN[query.sort.column] : undefined;
    if (condition && this.scanWorker && !collector.needsResources) {
      const sort = sortColumn && query.sort ? { column: sortColumn, descending: query.sort.descending } : undefined;
      const answer = await this.scanWorker.run({
        where: condition.sql,
        params: condition.params,
        target,
        kind,
        sort,
        from: query.startIndex - 1,
        count: query.count,
        deadline: started + allowedMs,
      });
      if ("timedOut" in answer) throw FilterTooCostlyError.time(allowedMs);
      // A worker that cannot read (the file locked, moved) leaves the scan to this thread, in chunks.
      if ("total" in answer) return this.attempt(() => ({ total: answer.total, resources: this.bySeq(answer.page) }));
    }
    const readsRows = !condition || collector.needsResources;
    const select = `SELECT seq${sortColumn ? `, ${sortColumn} AS sort_key` : ""}${readsRows ? `, ${COLUMNS}` : ""} FROM resources`;
    const matching = this.db.prepare(`${select} WHERE target = ? AND kind = ? AND seq > ? AND seq <= ?${condition ? ` AND (${condition.sql})` : ""}`);
    const keep = (row: ResourceRow & { seq: number; sort_key?: unknown }) => {
      const resource = readsRows ? toResource(row) : undefined;
      if (!condition && query.predicate && !query.predicate(resource!)) return;
      collector.add({ seq: row.seq, key: row.sort_key, resource });
    };
    let chunk = FIRST_CHUNK;
    for (let after = 0; ;) {
      const t0 = performance.now();
      const last = await this.attempt(() => {
        const upTo = this.sql("SELECT seq FROM resources WHERE target = ? AND kind = ? AND seq > ? ORDER BY seq LIMIT 1 OFFSET ?").get(
          target,
          kind,
          after,
          chunk - 1,
        ) as { seq: number } | undefined;
        const to = upTo?.seq ?? Number.MAX_SAFE_INTEGER;
        for (const row of matching.iterate(target, kind, after, to, ...(condition?.params ?? [])) as IterableIterator<ResourceRow & { seq: number }>) keep(row);
        return upTo?.seq;
      });
      if (Date.now() - started >= allowedMs) throw FilterTooCostlyError.time(allowedMs);
      if (last === undefined) break;
      after = last;
      chunk = nextChunkSize(chunk, performance.now() - t0, this.scanChunkMs);
      await yieldToOthers();
    }
    const page = collector.page();
    if ("resources" in page) return { total: collector.total, resources: page.resources };
    return this.attempt(() => ({ total: collector.total, resources: this.bySeq(page.seqs) }));
  }

  private bySeq(seqs: number[]): StoredResource[] {
    const read = this.sql(`SELECT ${COLUMNS} FROM resources WHERE seq = ?`);
    return seqs.flatMap((seq) => {
      const row = read.get(seq) as ResourceRow | undefined;
      return row ? [toResource(row)] : [];
    });
  }

  private countWhere(target: string, kind: ResourceKind, condition: SqlCondition): number {
    return (
      this.db.prepare(`SELECT COUNT(*) AS n FROM resources WHERE target = ? AND kind = ? AND (${condition.sql})`).get(target, kind, ...condition.params) as {
        n: number;
      }
    ).n;
  }

  /** The target's resource count. */
  private countOf(target: string, kind: ResourceKind): number {
    const key = `${target}\u0000${kind}`;
    const known = this.counts.get(key);
    if (known !== undefined) return known;
    const n = (this.sql("SELECT COUNT(*) AS n FROM resources WHERE target = ? AND kind = ?").get(target, kind) as { n: number }).n;
    this.counts.set(key, n);
    return n;
  }

  private countChanged(target: string, kind: ResourceKind, by: number): void {
    const key = `${target}\u0000${kind}`;
    const known = this.counts.get(key);
    if (known !== undefined) this.counts.set(key, known + by);
  }

  async count(target: string, kind: ResourceKind): Promise<number> {
    return this.attempt(() => (this.sql("SELECT COUNT(*) AS n FROM resources WHERE target = ? AND kind = ?").get(target, kind) as { n: number }).n);
  }

  async members(target: string, groupId: string): Promise<Member[]> {
    return this.attempt(() => {
      const rows = this.sql(
        `SELECT m.member_id AS value, m.display AS display, r.kind AS type
           FROM group_members m LEFT JOIN resources r ON r.id = m.member_id AND r.target = m.target
           WHERE m.group_id = ? ORDER BY m.seq`,
      ).all(groupId) as { value: string; display: string | null; type: ResourceKind | null }[];
      void target;
      return rows.map((r) => ({ value: r.value, ...(r.display !== null ? { display: r.display } : {}), ...(r.type ? { type: r.type } : {}) }));
    });
  }

  async addMembers(target: string, groupId: string, members: Member[]): Promise<StoredResource> {
    return this.attempt(() => this.changeMembers(target, groupId, () => this.insertMembers(target, groupId, members)));
  }

  async removeMembers(target: string, groupId: string, memberIds: string[] | "all"): Promise<StoredResource> {
    return this.attempt(() => {
      return this.changeMembers(target, groupId, () => {
        if (memberIds === "all") {
          this.sql("DELETE FROM group_members WHERE group_id = ?").run(groupId);
          return;
        }
        const del = this.sql("DELETE FROM group_members WHERE group_id = ? AND member_id = ?");
        for (const id of memberIds) del.run(groupId, id);
      });
    });
  }

  async replaceMembers(target: string, groupId: string, members: Member[]): Promise<StoredResource> {
    return this.attempt(() => {
      return this.changeMembers(target, groupId, () => {
        this.sql("DELETE FROM group_members WHERE group_id = ?").run(groupId);
        this.insertMembers(target, groupId, members);
      });
    });
  }

  async groupsOf(target: string, memberIds: string[]): Promise<Map<string, { id: string; displayName: string }[]>> {
    const result = new Map<string, { id: string; displayName: string }[]>();
    const stmt = this.sql(
      `SELECT m.member_id AS member, r.id AS id, r.name AS name FROM group_members m JOIN resources r ON r.id = m.group_id
       WHERE m.target = ? AND m.member_id = ? ORDER BY r.seq`,
    );
    for (const memberId of memberIds) {
      const rows = stmt.all(target, memberId) as { member: string; id: string; name: string }[];
      result.set(
        memberId,
        rows.map((r) => ({ id: r.id, displayName: r.name })),
      );
    }
    return result;
  }

  async recordLink(link: NewVendorLink): Promise<VendorLink> {
    return this.attempt(() => this.writeLink(link));
  }

  private writeLink(link: NewVendorLink): VendorLink {
    const createdAt = new Date().toISOString();
    const full: VendorLink = { state: "active", acknowledged: {}, ...link, createdAt };
    this.sql(
      `INSERT INTO vendor_links (target, scim_id, vendor, vendor_key, link, user_name, created_at, state, acknowledged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (target, scim_id) DO UPDATE SET vendor = excluded.vendor, vendor_key = excluded.vendor_key, link = excluded.link,
           user_name = excluded.user_name, created_at = excluded.created_at, state = excluded.state, acknowledged = excluded.acknowledged, deleted_at = NULL`,
    ).run(full.target, full.scimId, full.vendor, full.vendorKey, full.link, full.userName, createdAt, full.state, JSON.stringify(full.acknowledged));
    return full;
  }

  async updateLink(target: string, scimId: string, change: Parameters<Store["updateLink"]>[2]): Promise<void> {
    return this.attempt(() => {
      const sets: string[] = [];
      const values: unknown[] = [];
      if (change.state !== undefined) (sets.push("state = ?"), values.push(change.state));
      if (change.acknowledged !== undefined) (sets.push("acknowledged = ?"), values.push(JSON.stringify(change.acknowledged)));
      if (change.vendorKey !== undefined) (sets.push("vendor_key = ?"), values.push(change.vendorKey));
      if (change.link !== undefined) (sets.push("link = ?"), values.push(change.link));
      if (sets.length === 0) return;
      this.sql(`UPDATE vendor_links SET ${sets.join(", ")} WHERE target = ? AND scim_id = ?`).run(...values, target, scimId);
    });
  }

  async markLinkDeleted(target: string, scimId: string): Promise<void> {
    return this.attempt(() => {
      this.sql("UPDATE vendor_links SET deleted_at = ? WHERE target = ? AND scim_id = ?").run(new Date().toISOString(), target, scimId);
    });
  }

  async linksOf(target: string, scimIds: string[]): Promise<Map<string, VendorLink>> {
    return this.attempt(() => {
      const stmt = this.sql("SELECT * FROM vendor_links WHERE target = ? AND scim_id = ?");
      const out = new Map<string, VendorLink>();
      for (const id of scimIds) {
        const row = stmt.get(target, id) as LinkRow | undefined;
        if (row) out.set(id, toLink(row));
      }
      return out;
    });
  }

  async linksHolding(targets: string[], vendorKey: string): Promise<VendorLink[]> {
    return this.attempt(() => {
      const stmt = this.sql("SELECT * FROM vendor_links WHERE target = ? AND vendor_key = ? AND deleted_at IS NULL AND state <> 'removed'");
      return targets.flatMap((target) => (stmt.all(target, vendorKey) as LinkRow[]).map(toLink));
    });
  }

  async createCalls(target: string, nameHashes?: string[]): Promise<VendorCallRecord[]> {
    return this.attempt(() => {
      const where = `target = ? AND operation = 'create' AND outcome IN ('success', 'deadline', 'transient')`;
      if (!nameHashes)
        return (this.sql(`SELECT ${VENDOR_CALL_COLUMNS} FROM vendor_calls WHERE ${where} ORDER BY seq DESC`).all(target) as VendorCallRow[]).map(toVendorCall);
      const stmt = this.sql(`SELECT ${VENDOR_CALL_COLUMNS} FROM vendor_calls WHERE ${where} AND name_hash = ? ORDER BY seq DESC`);
      return nameHashes.flatMap((hash) => (stmt.all(target, hash) as VendorCallRow[]).map(toVendorCall));
    });
  }

  async kindsOf(target: string, ids: string[]): Promise<Map<string, ResourceKind>> {
    return this.attempt(() => {
      const stmt = this.sql("SELECT kind FROM resources WHERE target = ? AND id = ?");
      const out = new Map<string, ResourceKind>();
      for (const id of new Set(ids)) {
        const row = stmt.get(target, id) as { kind: ResourceKind } | undefined;
        if (row) out.set(id, row.kind);
      }
      return out;
    });
  }

  async allLinks(target: string): Promise<VendorLink[]> {
    return this.attempt(() => (this.sql("SELECT * FROM vendor_links WHERE target = ? ORDER BY created_at").all(target) as LinkRow[]).map(toLink));
  }

  async recordVendorCall(record: VendorCallRecord): Promise<void> {
    return this.attempt(() => {
      this.sql(`INSERT INTO vendor_calls (${VENDOR_CALL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...vendorCallValues(record));
    });
  }

  async vendorCalls(target: string, filter: { scimId?: string; limit: number }): Promise<VendorCallRecord[]> {
    const rows = filter.scimId
      ? this.sql(`SELECT ${VENDOR_CALL_COLUMNS} FROM vendor_calls WHERE target = ? AND scim_id = ? ORDER BY seq DESC LIMIT ?`).all(
          target,
          filter.scimId,
          filter.limit,
        )
      : this.sql(`SELECT ${VENDOR_CALL_COLUMNS} FROM vendor_calls WHERE target = ? ORDER BY seq DESC LIMIT ?`).all(target, filter.limit);
    return (rows as VendorCallRow[]).map(toVendorCall);
  }

  async pruneVendorCalls(before: string): Promise<number> {
    return this.attempt(() => this.sql("DELETE FROM vendor_calls WHERE at < ?").run(before).changes);
  }

  async groupLinkOf(target: string, scimGroupId: string): Promise<VendorGroupLink | undefined> {
    return this.attempt(() => {
      const row = this.sql("SELECT * FROM vendor_group_links WHERE target = ? AND scim_id = ?").get(target, scimGroupId) as
        { vendor_group_id: string; created_by_bridge: number } | undefined;
      return row ? { target, scimId: scimGroupId, vendorGroupId: row.vendor_group_id, createdByBridge: row.created_by_bridge === 1 } : undefined;
    });
  }

  async recordGroupLink(link: VendorGroupLink): Promise<void> {
    return this.attempt(() => {
      this.sql(
        `INSERT INTO vendor_group_links (target, scim_id, vendor_group_id, created_by_bridge, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (target, scim_id) DO UPDATE SET vendor_group_id = excluded.vendor_group_id, created_by_bridge = excluded.created_by_bridge`,
      ).run(link.target, link.scimId, link.vendorGroupId, link.createdByBridge ? 1 : 0, new Date().toISOString());
    });
  }

  async removeGroupLink(target: string, scimGroupId: string): Promise<void> {
    return this.attempt(() => {
      this.sql("DELETE FROM vendor_group_links WHERE target = ? AND scim_id = ?").run(target, scimGroupId);
    });
  }

  // ---- outbox ----

  private writeWork(target: string, scimId: string, order: WorkOrder): void {
    const now = Date.now();
    this.sql(ENQUEUE).run({
      target,
      scimId,
      deprovision: order.deprovision ? 1 : 0,
      resend: order.resendStatus ? 1 : 0,
      now,
      horizon: order.deprovision ? null : now + order.horizonMs,
      removedDoc: order.removedDoc ? JSON.stringify(order.removedDoc) : null,
      password: order.password ? 1 : 0,
    });
  }

  async enqueueWork(target: string, scimId: string, order: WorkOrder): Promise<void> {
    return this.attempt(() => this.writeWork(target, scimId, order));
  }

  async claimWork(owner: string, leaseMs: number, limit: number, targets: string[]): Promise<WorkItem[]> {
    return this.attempt(() =>
      this.db.transaction(() => {
        const now = Date.now();
        const rows = this.sql(
          `SELECT * FROM outbox WHERE state = 'pending' AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?) AND target IN (SELECT value FROM json_each(?)) ORDER BY deprovision DESC, next_at LIMIT ?`,
        ).all(now, now, JSON.stringify(targets), limit) as OutboxRow[];
        const lease = this.sql("UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE target = ? AND scim_id = ?");
        for (const row of rows) lease.run(owner, now + leaseMs, row.target, row.scim_id);
        return rows.map((row) => toWorkItem({ ...row, lease_owner: owner, lease_until: now + leaseMs }));
      })(),
    );
  }

  async claimWorkOf(target: string, scimId: string, owner: string, leaseMs: number): Promise<WorkItem | undefined> {
    return this.attempt(() => {
      const now = Date.now();
      const row = this.sql(
        `UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE target = ? AND scim_id = ? AND state = 'pending' AND (lease_until IS NULL OR lease_until < ?) RETURNING *`,
      ).get(owner, now + leaseMs, target, scimId, now) as OutboxRow | undefined;
      return row ? toWorkItem(row) : undefined;
    });
  }

  async renewLeases(owner: string, leaseMs: number, items: { target: string; scimId: string }[]): Promise<void> {
    return this.attempt(() => {
      const renew = this.sql("UPDATE outbox SET lease_until = ? WHERE target = ? AND scim_id = ? AND lease_owner = ?");
      const until = Date.now() + leaseMs;
      for (const item of items) renew.run(until, item.target, item.scimId, owner);
    });
  }

  async markCreateIntent(target: string, scimId: string, owner: string, on: boolean): Promise<boolean> {
    return this.attempt(
      () =>
        this.sql("UPDATE outbox SET create_intent = ? WHERE target = ? AND scim_id = ? AND lease_owner = ?").run(on ? 1 : 0, target, scimId, owner).changes > 0,
    );
  }

  async settleWork(target: string, scimId: string, owner: string, generation: number, settlement: WorkSettlement): Promise<WorkItem | undefined> {
    return this.attempt(() => {
      const now = Date.now();
      const v = settlementValues(settlement, now);
      const row = this.sql(SETTLE).get({ target, scimId, owner, generation, now, ...v }) as OutboxRow | undefined;
      return row ? toWorkItem(row) : undefined;
    });
  }

  async workOf(target: string, scimIds: string[]): Promise<Map<string, WorkItem>> {
    return this.attempt(() => {
      const stmt = this.sql("SELECT * FROM outbox WHERE target = ? AND scim_id = ?");
      const out = new Map<string, WorkItem>();
      for (const id of scimIds) {
        const row = stmt.get(target, id) as OutboxRow | undefined;
        if (row) out.set(id, toWorkItem(row));
      }
      return out;
    });
  }

  async listWork(filter: { target?: string; state?: WorkItem["state"]; limit: number }): Promise<WorkItem[]> {
    return this.attempt(() => {
      const rows = this.sql(
        `SELECT * FROM outbox WHERE (@target IS NULL OR target = @target) AND (@state IS NULL OR state = @state) AND (@state IS NOT NULL OR state <> 'done') ORDER BY deprovision DESC, first_at LIMIT @limit`,
      ).all({ target: filter.target ?? null, state: filter.state ?? null, limit: filter.limit }) as OutboxRow[];
      return rows.map(toWorkItem);
    });
  }

  async redriveWork(target: string, which: { scimId: string } | { failed: true }, horizonMs: number): Promise<number> {
    return this.attempt(() => {
      const now = Date.now();
      const set = `state = 'pending', next_at = @now, attempts = 0, first_at = @now, horizon_at = CASE WHEN deprovision = 1 THEN NULL ELSE @horizon END`;
      const stmt =
        "scimId" in which
          ? this.sql(`UPDATE outbox SET ${set} WHERE target = @target AND scim_id = @scimId AND state <> 'done'`).run({
              now,
              horizon: now + horizonMs,
              target,
              scimId: which.scimId,
            })
          : this.sql(`UPDATE outbox SET ${set} WHERE target = @target AND state = 'failed'`).run({ now, horizon: now + horizonMs, target });
      return stmt.changes;
    });
  }

  async dropWork(target: string, scimId: string): Promise<boolean> {
    return this.attempt(() => this.sql("DELETE FROM outbox WHERE target = ? AND scim_id = ?").run(target, scimId).changes > 0);
  }

  async releaseLeases(owner: string): Promise<void> {
    return this.attempt(() => {
      this.sql("UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?").run(owner);
    });
  }

  async releaseWork(targets: string[]): Promise<number> {
    return this.attempt(
      () =>
        this.sql("UPDATE outbox SET next_at = @now WHERE state = 'pending' AND next_at > @now AND target IN (SELECT value FROM json_each(@targets))").run({
          now: Date.now(),
          targets: JSON.stringify(targets),
        }).changes,
    );
  }

  async outboxStats(): Promise<OutboxStats> {
    return this.attempt(() => ({
      depth: this.sql("SELECT target, state, COUNT(*) AS count FROM outbox WHERE state <> 'done' GROUP BY target, state").all() as OutboxStats["depth"],
      oldestDeprovision: (
        this.sql(`SELECT target, MIN(${OPEN_DEPROVISION_SINCE}) AS since FROM outbox WHERE state <> 'done' AND deprovision = 1 GROUP BY target`).all() as {
          target: string;
          since: number;
        }[]
      ).map((r) => ({ target: r.target, since: Number(r.since) })),
    }));
  }

  async updateCredentialState<T>(credential: string, update: (state: string | undefined, now: number) => { state: string; result: T }): Promise<T> {
    return this.attempt(() =>
      this.db.transaction(() => {
        const row = this.sql("SELECT state FROM credential_state WHERE credential = ?").get(credential) as { state: string } | undefined;
        const { state, result } = update(row?.state, Date.now());
        this.sql("INSERT INTO credential_state (credential, state) VALUES (?, ?) ON CONFLICT (credential) DO UPDATE SET state = excluded.state").run(
          credential,
          state,
        );
        return result;
      })(),
    );
  }

  private row(target: string, kind: ResourceKind, id: string): ResourceRow | undefined {
    return this.sql(`SELECT ${COLUMNS} FROM resources WHERE id = ? AND target = ? AND kind = ?`).get(id, target, kind) as ResourceRow | undefined;
  }

  private writeEmails(target: string, userId: string, emails: string[]): void {
    this.sql("DELETE FROM user_emails WHERE user_id = ?").run(userId);
    const insert = this.sql("INSERT INTO user_emails (target, user_id, value_key) VALUES (?, ?, ?)");
    for (const email of new Set(emails.map((e) => e.toLowerCase()))) insert.run(target, userId, email);
  }

  private insertMembers(target: string, groupId: string, members: Member[]): void {
    const next = (this.sql("SELECT COALESCE(MAX(seq), 0) AS s FROM group_members WHERE group_id = ?").get(groupId) as { s: number }).s;
    const insert = this.sql(
      `INSERT INTO group_members (target, group_id, member_id, display, seq) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (group_id, member_id) DO UPDATE SET display = COALESCE(excluded.display, group_members.display)`,
    );
    members.forEach((m, i) => insert.run(target, groupId, m.value, m.display ?? null, next + i + 1));
  }

  private changeMembers(target: string, groupId: string, change: () => void): StoredResource {
    return this.db.transaction(() => {
      if (!this.row(target, "Group", groupId)) throw new NotFoundError("Group", groupId);
      change();
      this.touch(groupId);
      return toResource(this.row(target, "Group", groupId)!);
    })();
  }

  private touch(groupId: string): void {
    this.generation++;
    this.sql("UPDATE resources SET version = version + 1, last_modified = ? WHERE id = ?").run(new Date().toISOString(), groupId);
  }

  private listByLookups(target: string, kind: ResourceKind, query: ListQuery, lookups: IndexLookup[]): ListPage {
    const ids = new Set<string>();
    for (const lookup of lookups) for (const id of this.lookup(target, kind, lookup)) ids.add(id);
    const found: (StoredResource & { seq: number })[] = [];
    const stmt = this.sql(`SELECT seq, ${COLUMNS} FROM resources WHERE id = ? AND target = ? AND kind = ?`);
    for (const id of ids) {
      const row = stmt.get(id, target, kind) as (ResourceRow & { seq: number }) | undefined;
      if (row) found.push({ ...toResource(row), seq: row.seq });
    }
    found.sort((a, b) => a.seq - b.seq);
    const matching = found.filter((r) => !query.predicate || query.predicate(r));
    return pageOf(sortInMemory(matching, query.sort), { ...query, predicate: undefined, sort: undefined });
  }

  private lookup(target: string, kind: ResourceKind, { attribute, value }: IndexLookup): string[] {
    const by = (sql: string, v: string) => (this.sql(sql).all(target, kind, v) as { id: string }[]).map((r) => r.id);
    switch (attribute) {
      case "id":
        return by("SELECT id FROM resources WHERE target = ? AND kind = ? AND id = ?", value);
      case "userName":
        return by("SELECT id FROM resources WHERE target = ? AND kind = ? AND name_key = ?", value.toLowerCase());
      case "displayName":
        return by("SELECT id FROM resources WHERE target = ? AND kind = ? AND display_key = ?", value.toLowerCase());
      case "externalId":
        return by("SELECT id FROM resources WHERE target = ? AND kind = ? AND external_id = ?", value);
      case "emails":
        if (kind !== "User") return [];
        return (
          this.sql("SELECT user_id AS id FROM user_emails WHERE target = ? AND value_key = ?").all(target, value.toLowerCase()) as {
            id: string;
          }[]
        ).map((r) => r.id);
    }
  }
}

/**
 * How SQLite reads a list no index lookup answers, without holding the event loop long: pages in insertion
 * order start from remembered anchors and count from a cached count; a time range is answered by its index;
 * other filters are evaluated by the scan worker (off the event loop), or here in chunks of a few
 * milliseconds. Each synchronous step runs inside one `attempt` (see sqlite/database.ts).
 */
import { KeyedLock } from "../../lib/keyed-lock";
import type { SqliteDatabase } from "../sqlite/database";
import { FilterTooCostlyError, type ListPage, type ListQuery, type ResourceKind, type SortColumn, type StoredResource } from "../types";
import { sqliteCondition, timeRangeOf, type SqlCondition } from "./filter-sql";
import type { ResourceLists } from "./resources";
import { RESOURCE_COLUMNS, SORT_COLUMN, toResource, type ResourceRow } from "./rows";
import { budgetOf, checkRowBudget, FIRST_CHUNK, nextChunkSize, PageAnchors, PageCollector, SCAN_CHUNK_MS, yieldToOthers } from "./scan";

/** The most matches of an indexed time range that are ordered in one statement (more are read in chunks). */
const RANGE_SORT_LIMIT = 10_000;

export class SqliteLists implements ResourceLists {
  /** Bumped by every write of a resource: the page anchors remembered are of one generation. */
  private generation = 0;
  /** Resources per target and kind, counted once, then kept by creates and removes (one process owns the file). */
  private readonly counts = new Map<string, number>();
  private readonly anchors = new PageAnchors();
  private readonly scanTurns = new KeyedLock();

  constructor(
    private readonly db: SqliteDatabase,
    /** How long one chunk of a scan on the event loop may hold it. */
    private readonly scanChunkMs = SCAN_CHUNK_MS,
  ) {}

  /** Reads run synchronously in one attempt (the file checked before: they write nothing to lose). */
  private read<T>(operation: () => T): Promise<T> {
    return this.db.attempt(operation, true);
  }

  written(target: string, kind: ResourceKind, added: number): void {
    this.generation++;
    const key = `${target}\u0000${kind}`;
    const known = this.counts.get(key);
    if (known !== undefined && added !== 0) this.counts.set(key, known + added);
  }

  async list(target: string, kind: ResourceKind, query: ListQuery): Promise<ListPage> {
    const filtered = Boolean(query.predicate || query.filter);
    if (!filtered && !query.sort) return this.read(() => this.listInOrder(target, kind, query));
    const condition = query.filter ? sqliteCondition(query.filter, kind) : undefined;
    const columnSort = query.sort && "column" in query.sort ? query.sort : undefined;
    if (!filtered && columnSort) return this.read(() => this.listWhere(target, kind, query, columnSort, undefined));
    // A time range (incremental imports) is answered by the last_modified / created index, unless it matches
    // so many that ordering them would hold the event loop: those are read in chunks like any scan.
    if (condition && query.filter && timeRangeOf(query.filter) && (!query.sort || columnSort)) {
      const matches = await this.read(() => this.countWhere(target, kind, condition));
      if (matches <= RANGE_SORT_LIMIT) return this.read(() => this.listWhere(target, kind, query, columnSort, condition));
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
        ? this.db
            .statement(`SELECT seq, ${RESOURCE_COLUMNS} FROM resources WHERE target = ? AND kind = ? AND seq >= ? ORDER BY seq LIMIT ? OFFSET ?`)
            .all(target, kind, anchor.seq, query.count, query.startIndex - anchor.position)
        : this.db
            .statement(
              `SELECT seq, ${RESOURCE_COLUMNS} FROM resources WHERE seq IN (SELECT seq FROM resources WHERE target = ? AND kind = ? ORDER BY seq LIMIT ? OFFSET ?) ORDER BY seq`,
            )
            .all(target, kind, query.count, query.startIndex - 1)
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
    const prepare = (text: string) => (condition ? this.db.connection.prepare(text) : this.db.statement(text));
    const total = condition ? this.countWhere(target, kind, condition) : this.countOf(target, kind);
    const rows = prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE ${where} ORDER BY ${order} LIMIT ? OFFSET ?`).all(
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
    checkRowBudget(query, kind, await this.read(() => this.countOf(target, kind)));
    const started = Date.now();
    // One scan at a time: requests then wait for at most one chunk, and the waiting counts against the budget.
    return this.scanTurns.run("scan", () => this.scanNow(target, kind, query, condition, started));
  }

  /** The scan itself, its turn come; `started` is when it was asked for (the wait counts against the budget). */
  private async scanNow(target: string, kind: ResourceKind, query: ListQuery, condition: SqlCondition | undefined, started: number): Promise<ListPage> {
    const { ms: allowedMs } = budgetOf(query);
    const collector = new PageCollector(query);
    const sortColumn = query.sort && "column" in query.sort ? SORT_COLUMN[query.sort.column] : undefined;
    if (condition && this.db.scanWorker && !collector.needsResources) {
      const sort = sortColumn && query.sort ? { column: sortColumn, descending: query.sort.descending } : undefined;
      const answer = await this.db.scanWorker.run({
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
      if ("total" in answer) return this.read(() => ({ total: answer.total, resources: this.bySeq(answer.page) }));
    }
    const readsRows = !condition || collector.needsResources;
    const select = `SELECT seq${sortColumn ? `, ${sortColumn} AS sort_key` : ""}${readsRows ? `, ${RESOURCE_COLUMNS}` : ""} FROM resources`;
    const matching = this.db.connection.prepare(
      `${select} WHERE target = ? AND kind = ? AND seq > ? AND seq <= ?${condition ? ` AND (${condition.sql})` : ""}`,
    );
    const keep = (row: ResourceRow & { seq: number; sort_key?: unknown }) => {
      const resource = readsRows ? toResource(row) : undefined;
      if (!condition && query.predicate && !query.predicate(resource!)) return;
      collector.add({ seq: row.seq, key: row.sort_key, resource });
    };
    let chunk = FIRST_CHUNK;
    for (let after = 0; ;) {
      const t0 = performance.now();
      const last = await this.read(() => {
        const upTo = this.db
          .statement("SELECT seq FROM resources WHERE target = ? AND kind = ? AND seq > ? ORDER BY seq LIMIT 1 OFFSET ?")
          .get(target, kind, after, chunk - 1) as { seq: number } | undefined;
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
    return this.read(() => ({ total: collector.total, resources: this.bySeq(page.seqs) }));
  }

  private bySeq(seqs: number[]): StoredResource[] {
    const read = this.db.statement(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE seq = ?`);
    return seqs.flatMap((seq) => {
      const row = read.get(seq) as ResourceRow | undefined;
      return row ? [toResource(row)] : [];
    });
  }

  private countWhere(target: string, kind: ResourceKind, condition: SqlCondition): number {
    const count = this.db.connection.prepare(`SELECT COUNT(*) AS n FROM resources WHERE target = ? AND kind = ? AND (${condition.sql})`);
    return (count.get(target, kind, ...condition.params) as { n: number }).n;
  }

  /** The target's resource count. */
  private countOf(target: string, kind: ResourceKind): number {
    const key = `${target}\u0000${kind}`;
    const known = this.counts.get(key);
    if (known !== undefined) return known;
    const n = (this.db.statement("SELECT COUNT(*) AS n FROM resources WHERE target = ? AND kind = ?").get(target, kind) as { n: number }).n;
    this.counts.set(key, n);
    return n;
  }
}

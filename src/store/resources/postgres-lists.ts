/**
 * How PostgreSQL reads a list no index lookup answers: pages in insertion order skip over the index only;
 * a filter it can evaluate runs there (off the bridge's event loop) under the target's statement_timeout;
 * what only the predicate can say is read in batches, by keyset when in insertion order.
 */
import type { PostgresDatabase } from "../postgres/database";
import { FilterTooCostlyError, type ListPage, type ListQuery, type ResourceKind, type StoredResource } from "../types";
import { postgresCondition, timeRangeOf, type SqlCondition } from "./filter-sql";
import { pageOfAsync } from "./paging";
import type { ResourceLists } from "./resources";
import { RESOURCE_COLUMNS, SORT_COLUMN, toResource, type ResourceRow } from "./rows";
import { budgetOf, checkRowBudget } from "./scan";

const COLUMNS = `seq, ${RESOURCE_COLUMNS}`;
/** Rows read per round trip when a filter has to look at every resource of a target. */
const SCAN_BATCH = 1000;
/** What PostgreSQL answers when statement_timeout ends a query. */
const QUERY_CANCELED = "57014";

export class PostgresLists implements ResourceLists {
  constructor(private readonly db: PostgresDatabase) {}

  /** Nothing is cached: every count is the database's. */
  written(): void {}

  async list(target: string, kind: ResourceKind, query: ListQuery): Promise<ListPage> {
    const sort = query.sort && "column" in query.sort ? query.sort : undefined;
    const order = sort ? `${SORT_COLUMN[sort.column]} ${sort.descending ? "DESC" : "ASC"} NULLS LAST, seq ASC` : "seq ASC";
    const filtered = Boolean(query.predicate || query.filter);
    if (!filtered && (!query.sort || sort)) {
      const total = await this.count(target, kind);
      // In insertion order, the rows skipped are read from the index only (never their documents).
      const { rows } = sort
        ? await this.db.query(`SELECT ${COLUMNS} FROM resources WHERE target = $1 AND kind = $2 ORDER BY ${order} LIMIT $3 OFFSET $4`, [
            target,
            kind,
            query.count,
            query.startIndex - 1,
          ])
        : await this.db.query(
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

  private async count(target: string, kind: ResourceKind): Promise<number> {
    return Number((await this.db.query("SELECT COUNT(*) AS n FROM resources WHERE target = $1 AND kind = $2", [target, kind])).rows[0].n);
  }

  /** The filter evaluated by PostgreSQL (off the bridge's event loop), within the target's time budget. */
  private async listWhere(target: string, kind: ResourceKind, query: ListQuery, order: string, condition: SqlCondition): Promise<ListPage> {
    const { ms } = budgetOf(query);
    const where = `target = $1 AND kind = $2 AND (${condition.sql})`;
    const values = [target, kind, ...condition.params];
    return this.db.inTransaction(async (q) => {
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
        ? await this.db.query(`SELECT ${COLUMNS} FROM resources WHERE target = $1 AND kind = $2 AND seq > $3 ORDER BY seq LIMIT $4`, [
            target,
            kind,
            after,
            SCAN_BATCH,
          ])
        : await this.db.query(`SELECT ${COLUMNS} FROM resources WHERE target = $1 AND kind = $2 ORDER BY ${order} LIMIT $3 OFFSET $4`, [
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
}

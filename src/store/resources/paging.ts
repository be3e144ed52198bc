/** Paging over a stream of candidates, shared by the stores for filters no index can answer. */
import type { ListPage, ListQuery, SortColumn, StoredResource } from "../types";

const COLUMN_VALUE: Record<SortColumn, (r: StoredResource) => unknown> = {
  created: (r) => r.created,
  lastModified: (r) => r.lastModified,
  id: (r) => r.id,
  userName: (r) => String(r.doc.userName ?? "").toLowerCase(),
  displayName: (r) => (typeof r.doc.displayName === "string" ? r.doc.displayName.toLowerCase() : undefined),
  externalId: (r) => r.doc.externalId,
};

/** Compares sort values: absent values last, numbers numerically, everything else as strings. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** A stable sort (ties keep their incoming order, which is insertion order). */
export function sortInMemory(resources: StoredResource[], sort: ListQuery["sort"]): StoredResource[] {
  if (!sort) return resources;
  const key = "column" in sort ? COLUMN_VALUE[sort.column] : sort.key;
  const keyed = resources.map((r, i) => ({ r, i, k: key(r) }));
  keyed.sort((x, y) => {
    const absentX = x.k === undefined || x.k === null;
    const absentY = y.k === undefined || y.k === null;
    if (absentX !== absentY) return absentX ? 1 : -1; // absent values last, whatever the direction
    const c = compareValues(x.k, y.k);
    return (sort.descending ? -c : c) || x.i - y.i;
  });
  return keyed.map((k) => k.r);
}

/**
 * Keeps the page [startIndex, startIndex + count) of the candidates that pass the predicate, and counts them all.
 * With a computed sort key every match is held (sorting needs them); otherwise only the page is.
 */
export function pageOf(candidates: Iterable<StoredResource>, query: ListQuery): ListPage {
  const from = query.startIndex - 1;
  const computedSort = query.sort && !("column" in query.sort) ? query.sort : undefined;
  const kept: StoredResource[] = [];
  let total = 0;
  for (const r of candidates) {
    if (query.predicate && !query.predicate(r)) continue;
    if (computedSort || (total >= from && total < from + query.count)) kept.push(r);
    total++;
  }
  const resources = computedSort ? sortInMemory(kept, computedSort).slice(from, from + query.count) : kept;
  return { total, resources };
}

/** pageOf over rows that arrive asynchronously (a server-side store streaming in batches). */
export async function pageOfAsync(candidates: AsyncIterable<StoredResource>, query: ListQuery): Promise<ListPage> {
  const from = query.startIndex - 1;
  const computedSort = query.sort && !("column" in query.sort) ? query.sort : undefined;
  const kept: StoredResource[] = [];
  let total = 0;
  for await (const r of candidates) {
    if (query.predicate && !query.predicate(r)) continue;
    if (computedSort || (total >= from && total < from + query.count)) kept.push(r);
    total++;
  }
  const resources = computedSort ? sortInMemory(kept, computedSort).slice(from, from + query.count) : kept;
  return { total, resources };
}

/**
 * Reading a whole target for a filter no index answers, without holding the event loop: the store reads
 * bounded chunks (in insertion order) and this keeps what the page needs between them, and the budget.
 */
import { sortInMemory } from "./paging";
import { FILTER_BUDGET, FilterTooCostlyError, type ListQuery, type ResourceKind, type StoredResource } from "../types";

/** One match of a chunk: its insertion order, the column it is sorted by (if any), and the resource when it was read. */
export interface Match {
  seq: number;
  key?: unknown;
  resource?: StoredResource;
}

/** Gives the event loop to whatever else waits (other requests) before the next chunk. */
export const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

/** How long one chunk should hold the event loop, by default, and the bounds of its size. */
export const SCAN_CHUNK_MS = 4;
const CHUNK_ROWS = { min: 100, max: 20_000, first: 1_000 };

/** The next chunk's size, from how long this one took and how long one may take. */
export function nextChunkSize(rows: number, ms: number, chunkMs: number): number {
  const scaled = ms <= 0 ? rows * 2 : Math.round((rows * chunkMs) / ms);
  return Math.min(CHUNK_ROWS.max, Math.max(CHUNK_ROWS.min, Math.min(scaled, rows * 2)));
}

export const FIRST_CHUNK = CHUNK_ROWS.first;

/** The budget of a query, with the defaults for what it leaves out. */
export function budgetOf(query: ListQuery): { rows: number; ms: number } {
  return { rows: query.budget?.rows ?? FILTER_BUDGET.rows, ms: query.budget?.ms ?? FILTER_BUDGET.ms };
}

export function checkRowBudget(query: ListQuery, kind: ResourceKind, rows: number): void {
  const { rows: allowed } = budgetOf(query);
  if (rows > allowed) throw FilterTooCostlyError.rows(kind, rows, allowed);
}

/**
 * The matches of a scan, kept as the page needs them: in insertion order only the page's; sorted by a
 * column, every match's (seq, key) pair; sorted by a computed key, every matching resource (as before).
 */
export class PageCollector {
  private readonly from: number;
  private readonly kept: Match[] = [];
  total = 0;

  constructor(private readonly query: ListQuery) {
    this.from = query.startIndex - 1;
  }

  /** Whether matches must carry their resource (a computed sort reads it). */
  get needsResources(): boolean {
    return Boolean(this.query.sort && !("column" in this.query.sort));
  }

  add(match: Match): void {
    if (this.query.sort || (this.total >= this.from && this.total < this.from + this.query.count)) this.kept.push(match);
    this.total++;
  }

  /** The page's seqs in order, or its resources when a computed sort needed them. */
  page(): { seqs: number[] } | { resources: StoredResource[] } {
    const { sort, count } = this.query;
    if (!sort) return { seqs: this.kept.map((m) => m.seq) };
    if (!("column" in sort))
      return {
        resources: sortInMemory(
          this.kept.map((m) => m.resource!),
          sort,
        ).slice(this.from, this.from + count),
      };
    const sorted = [...this.kept].sort((a, b) => {
      const absentA = a.key === undefined || a.key === null;
      const absentB = b.key === undefined || b.key === null;
      if (absentA !== absentB) return absentA ? 1 : -1;
      const c = absentA ? 0 : String(a.key) < String(b.key) ? -1 : String(a.key) > String(b.key) ? 1 : 0;
      return (sort.descending ? -c : c) || a.seq - b.seq;
    });
    return { seqs: sorted.slice(this.from, this.from + count).map((m) => m.seq) };
  }
}

/**
 * Where pages of a target in insertion order start, learned from the pages served: position p (1-based)
 * is the first resource whose seq is at least `seq`. A later page starts from the nearest anchor instead
 * of counting from the first resource. Any write forgets them (its generation changes).
 */
export class PageAnchors {
  private static readonly MAX = 1024;
  private readonly byList = new Map<string, { generation: number; anchors: Map<number, number> }>();

  nearest(list: string, generation: number, position: number): { position: number; seq: number } | undefined {
    const entry = this.byList.get(list);
    if (!entry || entry.generation !== generation) return undefined;
    let best: { position: number; seq: number } | undefined;
    for (const [p, seq] of entry.anchors) if (p <= position && (!best || p > best.position)) best = { position: p, seq };
    return best;
  }

  learn(list: string, generation: number, position: number, seq: number): void {
    let entry = this.byList.get(list);
    if (!entry || entry.generation !== generation) {
      entry = { generation, anchors: new Map() };
      this.byList.set(list, entry);
    }
    entry.anchors.delete(position);
    entry.anchors.set(position, seq);
    if (entry.anchors.size > PageAnchors.MAX) entry.anchors.delete(entry.anchors.keys().next().value!);
  }
}

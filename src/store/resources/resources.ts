/**
 * Resources' SQL, once for both databases: writes (with the vendor work they imply, in the same
 * transaction), reads by id, and lists answered by index lookups. Lists that read more than an index gives
 * are each database's own (ResourceLists: sqlite-lists.ts, postgres-lists.ts).
 */
import type { Database, Transaction } from "../database";
import { recordMemberWork, recordWork } from "../outbox/sql";
import {
  NotFoundError,
  UniquenessError,
  VersionMismatchError,
  type IndexLookup,
  type KeysOf,
  type ListPage,
  type ListQuery,
  type ResourceKind,
  type ScimDocument,
  type StoredResource,
  type UserKeys,
  type WorkOrder,
} from "../types";
import { pageOf, sortInMemory } from "./paging";
import type { ResourceStore, WriteTerms } from "./port";
import { RESOURCE_COLUMNS, resourceColumns, toResource, type ResourceRow } from "./rows";

/** How a database reads a list no index lookup answers, and keeps what it caches for it current. */
export interface ResourceLists {
  list(target: string, kind: ResourceKind, query: ListQuery): Promise<ListPage>;
  /** A write of the target's resources of `kind` has committed, `added` more of them than before (negative: fewer). */
  written(target: string, kind: ResourceKind, added: number): void;
}

/** A resource row with its insertion order (PostgreSQL answers BIGINT as text). */
type SeqRow = ResourceRow & { seq: number | string };

const inInsertionOrder = (rows: SeqRow[]) => rows.sort((a, b) => Number(a.seq) - Number(b.seq));

/** The index column each lookup reads (emails have a table of their own). */
const LOOKUP_COLUMN: Record<Exclude<IndexLookup["attribute"], "emails">, string> = {
  id: "id",
  userName: "name_key",
  displayName: "display_key",
  externalId: "external_id",
};

/** The indexed columns a write sets, from the resource's keys. */
function indexed(keys: KeysOf<ResourceKind>): { name: string; nameKey: string; externalId: string | null; displayKey: string | null } {
  const name = "userName" in keys ? keys.userName : keys.displayName;
  return { name, nameKey: name.toLowerCase(), externalId: keys.externalId ?? null, displayKey: keys.displayName?.toLowerCase() ?? null };
}

export class Resources implements ResourceStore {
  private readonly sql: { current: string; touchGroups: string; byIds: string; byEmail: string };

  constructor(
    private readonly db: Database,
    private readonly lists: ResourceLists,
  ) {
    const d = db.dialect;
    this.sql = {
      current: `SELECT version, created FROM resources WHERE id = :id AND target = :target AND kind = :kind${d.forUpdate}`,
      touchGroups: `UPDATE resources SET version = version + 1, last_modified = :now WHERE ${d.isAnyOf("id", "groupIds")}`,
      // Ids are unique across targets: read by the id index alone, the target checked on the rows. (With an
      // equality on the target too, SQLite, which keeps no statistics, reads the whole target's index.)
      byIds: `SELECT target, ${RESOURCE_COLUMNS} FROM resources WHERE ${d.isAnyOf("id", "ids")}`,
      byEmail: `SELECT r.seq, ${resourceColumns("r")} FROM user_emails e JOIN resources r ON r.id = e.user_id
        WHERE e.target = :target AND e.value_key = :value AND r.kind = 'User'`,
    };
  }

  async create<K extends ResourceKind>(target: string, kind: K, id: string, doc: ScimDocument, keys: KeysOf<K>, work?: WorkOrder): Promise<StoredResource> {
    const now = new Date().toISOString();
    try {
      await this.db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO resources (target, kind, id, name, name_key, external_id, display_key, doc, created, last_modified, version)
           VALUES (:target, :kind, :id, :name, :nameKey, :externalId, :displayKey, :doc, :now, :now, 1)`,
          { target, kind, id, ...indexed(keys), doc: JSON.stringify(doc), now },
        );
        await this.alongside(tx, target, kind, id, keys, work, 1);
      });
    } catch (error) {
      if (this.db.dialect.isUniqueViolation(error)) throw new UniquenessError(kind === "User" ? "userName" : "id");
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
    terms: WriteTerms = {},
  ): Promise<StoredResource> {
    const now = new Date().toISOString();
    try {
      return await this.db.transaction(async (tx) => {
        const current = await this.current(tx, target, kind, id, terms.expectedVersion);
        await tx.run(
          `UPDATE resources SET name = :name, name_key = :nameKey, external_id = :externalId, display_key = :displayKey, doc = :doc,
             last_modified = :now, version = version + 1 WHERE id = :id`,
          { ...indexed(keys), doc: JSON.stringify(doc), now, id },
        );
        await this.alongside(tx, target, kind, id, keys, terms.work, 0);
        if (terms.memberWork) await recordMemberWork(tx, this.db.dialect, target, { groupId: id }, terms.memberWork);
        return { id, kind, doc, created: current.created, lastModified: now, version: current.version + 1 };
      });
    } catch (error) {
      if (this.db.dialect.isUniqueViolation(error)) throw new UniquenessError("userName");
      throw error;
    }
  }

  async get(target: string, kind: ResourceKind, id: string): Promise<StoredResource | undefined> {
    const row = await this.db.row<ResourceRow>(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE id = :id AND target = :target AND kind = :kind`, {
      id,
      target,
      kind,
    });
    return row ? toResource(row) : undefined;
  }

  async remove(target: string, kind: ResourceKind, id: string, terms: WriteTerms = {}): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.current(tx, target, kind, id, terms.expectedVersion);
      if (terms.memberWork) await recordMemberWork(tx, this.db.dialect, target, { groupId: id }, terms.memberWork);
      // A deleted resource stops being a member of any group (RFC 7644 §3.6); those groups change version.
      const groups = await tx.rows<{ group_id: string }>("DELETE FROM group_members WHERE target = :target AND member_id = :id RETURNING group_id", {
        target,
        id,
      });
      if (groups.length > 0) await tx.run(this.sql.touchGroups, { now: new Date().toISOString(), groupIds: groups.map((g) => g.group_id) });
      await tx.run("DELETE FROM resources WHERE id = :id", { id });
      if (terms.work) await recordWork(tx, this.db.dialect, target, id, terms.work);
      tx.afterCommit(() => this.lists.written(target, kind, -1));
    });
  }

  async list(target: string, kind: ResourceKind, query: ListQuery): Promise<ListPage> {
    return query.lookups ? this.listByLookups(target, kind, query, query.lookups) : this.lists.list(target, kind, query);
  }

  async kindsOf(target: string, ids: string[]): Promise<Map<string, ResourceKind>> {
    return new Map((await this.byIds(target, [...new Set(ids)])).map((r) => [r.id, r.kind]));
  }

  /** The resource's version and creation, locked for the transaction; NotFoundError, or VersionMismatchError if it is not at `expectedVersion`. */
  private async current(
    tx: Transaction,
    target: string,
    kind: ResourceKind,
    id: string,
    expectedVersion: number | undefined,
  ): Promise<{ version: number; created: string }> {
    const row = await tx.row<{ version: number; created: string }>(this.sql.current, { id, target, kind });
    if (!row) throw new NotFoundError(kind, id);
    if (expectedVersion !== undefined && row.version !== expectedVersion) throw new VersionMismatchError(row.version);
    return row;
  }

  /** What every write of a resource adds: a user's email index, the vendor work, and the lists told once it has committed. */
  private async alongside(
    tx: Transaction,
    target: string,
    kind: ResourceKind,
    id: string,
    keys: KeysOf<ResourceKind>,
    work: WorkOrder | undefined,
    added: number,
  ) {
    if ("emails" in keys) await this.writeEmails(tx, target, id, (keys as UserKeys).emails);
    if (work) await recordWork(tx, this.db.dialect, target, id, work);
    tx.afterCommit(() => this.lists.written(target, kind, added));
  }

  /** A user's emails, lower case, each once: what `emails` lookups read. */
  private async writeEmails(tx: Transaction, target: string, userId: string, emails: string[]): Promise<void> {
    await tx.run("DELETE FROM user_emails WHERE user_id = :userId", { userId });
    for (const email of new Set(emails.map((e) => e.toLowerCase())))
      await tx.run("INSERT INTO user_emails (target, user_id, value_key) VALUES (:target, :userId, :email)", { target, userId, email });
  }

  /** The target's resources of `ids`. */
  private async byIds(target: string, ids: string[]): Promise<ResourceRow[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.rows<ResourceRow & { target: string }>(this.sql.byIds, { ids });
    return rows.filter((r) => r.target === target);
  }

  /** Candidates from the lookups (a union), in insertion order, then the predicate, the order and the page. */
  private async listByLookups(target: string, kind: ResourceKind, query: ListQuery, lookups: IndexLookup[]): Promise<ListPage> {
    const found = new Map<string, SeqRow>();
    for (const lookup of lookups) for (const row of await this.lookup(target, kind, lookup)) found.set(row.id, row);
    const matching = inInsertionOrder([...found.values()])
      .map(toResource)
      .filter((r) => !query.predicate || query.predicate(r));
    return pageOf(sortInMemory(matching, query.sort), { ...query, predicate: undefined, sort: undefined });
  }

  /** The rows one index answers for. */
  private lookup(target: string, kind: ResourceKind, { attribute, value }: IndexLookup): Promise<SeqRow[]> {
    if (attribute === "emails") return kind === "User" ? this.db.rows<SeqRow>(this.sql.byEmail, { target, value: value.toLowerCase() }) : Promise.resolve([]);
    const key = attribute === "userName" || attribute === "displayName" ? value.toLowerCase() : value;
    return this.db.rows<SeqRow>(
      `SELECT seq, ${RESOURCE_COLUMNS} FROM resources WHERE target = :target AND kind = :kind AND ${LOOKUP_COLUMN[attribute]} = :value`,
      {
        target,
        kind,
        value: key,
      },
    );
  }
}

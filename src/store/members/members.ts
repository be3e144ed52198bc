/** Group membership's SQL, once for both databases. */
import { oneOf, type Database, type Transaction } from "../database";
import { RESOURCE_COLUMNS, toResource, type ResourceRow } from "../resources/rows";
import { NotFoundError, type Member, type ResourceKind, type StoredResource } from "../types";
import { recordMemberWork } from "../outbox/sql";
import { yieldToOthers } from "../resources/scan";
import type { GroupRef, MemberStore, MemberTerms } from "./port";

/**
 * Members one statement writes or looks up: SQLite runs a statement on the event loop, so a change of
 * 20,000 members goes in chunks (in one transaction), the loop given back between them.
 */
const CHUNK = 1_000;

/** `work` for each chunk of `list`, the event loop given back in between. */
async function inChunks<T>(list: T[], work: (chunk: T[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < list.length; i += CHUNK) {
    if (i > 0) await yieldToOthers();
    await work(list.slice(i, i + CHUNK));
  }
}

export class Members implements MemberStore {
  private readonly sql: { lockGroup: string; insert: string; removeSome: string };

  constructor(private readonly db: Database) {
    const d = db.dialect;
    this.sql = {
      lockGroup: `SELECT 1 AS found FROM resources WHERE id = :groupId AND target = :target AND kind = 'Group'${d.forUpdate}`,
      // New members join after the group's last, in the order given (WHERE true: SQLite's upsert after a SELECT needs a WHERE).
      insert: `INSERT INTO group_members (target, group_id, member_id, display, seq)
        SELECT :target, :groupId, m.value ->> 'value', m.value ->> 'display',
               (SELECT COALESCE(MAX(seq), 0) FROM group_members WHERE group_id = :groupId) + m.key + 1
        FROM ${d.elements("members", "m")} WHERE true ORDER BY m.key
        ON CONFLICT (group_id, member_id) DO UPDATE SET display = COALESCE(excluded.display, group_members.display)`,
      removeSome: `DELETE FROM group_members WHERE group_id = :groupId AND ${d.isAnyOf("member_id", "memberIds")}`,
    };
  }

  async of(target: string, groupId: string): Promise<Member[]> {
    const rows = await this.db.rows<{ value: string; display: string | null; type: ResourceKind | null }>(
      `SELECT m.member_id AS value, m.display AS display, r.kind AS type
       FROM group_members m LEFT JOIN resources r ON r.id = m.member_id AND r.target = m.target
       WHERE m.group_id = :groupId AND m.target = :target ORDER BY m.seq`,
      { groupId, target },
    );
    return rows.map((r) => ({ value: r.value, ...(r.display !== null ? { display: r.display } : {}), ...(r.type ? { type: r.type } : {}) }));
  }

  add(target: string, groupId: string, members: Member[], terms: MemberTerms = {}): Promise<StoredResource> {
    return this.change(target, groupId, async (tx) => {
      await inChunks(members, async (chunk) => {
        const rows = chunk.map((m) => ({ value: m.value, display: m.display ?? null }));
        await tx.run(this.sql.insert, { target, groupId, members: JSON.stringify(rows) });
        if (terms.memberWork) await recordMemberWork(tx, this.db.dialect, target, { ids: chunk.map((m) => m.value) }, terms.memberWork);
      });
    });
  }

  remove(target: string, groupId: string, memberIds: string[] | "all", terms: MemberTerms = {}): Promise<StoredResource> {
    return this.change(target, groupId, async (tx) => {
      if (memberIds === "all") {
        if (terms.memberWork) await recordMemberWork(tx, this.db.dialect, target, { groupId }, terms.memberWork);
        await tx.run("DELETE FROM group_members WHERE group_id = :groupId", { groupId });
      } else
        await inChunks(memberIds, async (chunk) => {
          if (terms.memberWork) await recordMemberWork(tx, this.db.dialect, target, { ids: chunk }, terms.memberWork);
          await tx.run(this.sql.removeSome, { groupId, memberIds: chunk });
        });
    });
  }

  async groupsOf(target: string, memberIds: string[]): Promise<Map<string, GroupRef[]>> {
    const result = new Map<string, GroupRef[]>(memberIds.map((id) => [id, []]));
    await inChunks([...result.keys()], async (chunk) => {
      const { condition, params } = oneOf(this.db.dialect, "m.member_id", "memberIds", chunk);
      const rows = await this.db.rows<{ member: string; id: string; name: string }>(
        `SELECT m.member_id AS member, r.id AS id, r.name AS name FROM group_members m JOIN resources r ON r.id = m.group_id
         WHERE m.target = :target AND ${condition} ORDER BY r.seq`,
        { target, ...params },
      );
      for (const r of rows) result.get(r.member)!.push({ id: r.id, displayName: r.name });
    });
    return result;
  }

  /** A membership change of an existing group, its version bumped, in one transaction; answers the group after. */
  private change(target: string, groupId: string, apply: (tx: Transaction) => Promise<void>): Promise<StoredResource> {
    return this.db.transaction(async (tx) => {
      if (!(await tx.row(this.sql.lockGroup, { groupId, target }))) throw new NotFoundError("Group", groupId);
      await apply(tx);
      await tx.run("UPDATE resources SET version = version + 1, last_modified = :now WHERE id = :groupId", { now: new Date().toISOString(), groupId });
      return toResource((await tx.row<ResourceRow>(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE id = :groupId`, { groupId }))!);
    });
  }
}

/**
 * PATCHes that only change a group's members (and perhaps its name) — what Okta and Entra send for every
 * membership change — applied as row inserts and deletes, without reading the member list at all. Other
 * PATCHes of a group read it, and give scimmy a chunk of it at a time (group-patch.ts).
 */
import type { Member } from "../store/types";
import type { ScimContext } from "./context";
import { membersOf } from "./compat";
import { groupKeys, storeError } from "./documents";
import { changeMembers, memberWorkOf, syncMembers } from "./groups";
import { ScimError } from "./errors";
import { yieldToOthers } from "../store/resources/scan";

type MembershipStep =
  | { kind: "add"; members: Member[] }
  | { kind: "remove"; ids: string[] | "all" }
  | { kind: "replace"; members: Member[] }
  | { kind: "rename"; displayName?: string; externalId?: string };

export type MembershipPlan = MembershipStep[];

const MEMBER_FILTER = /^members\[\s*value\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\]$/i;

/** The id in `members[value eq "…"]`, a JSON string. */
function memberIdOf(quoted: string): string {
  try {
    return JSON.parse(`"${quoted}"`) as string;
  } catch {
    throw new ScimError(400, "invalidPath", `members[value eq "…"] holds a member id as a JSON string; '${quoted.slice(0, 60)}' is not one.`);
  }
}

/** A normalised value's members (the normaliser has read each as an object with its id as `value`: not read again). */
function asMembers(value: unknown): Member[] {
  const read = Array.isArray(value) && value.every((m) => typeof (m as { value?: unknown } | null)?.value === "string");
  const entries = (read ? value : membersOf(value)) as { value: string; display?: unknown }[];
  return entries.map((m) => (typeof m.display === "string" ? { value: m.value, display: m.display } : { value: m.value }));
}

function renameOf(value: Record<string, unknown>): MembershipStep | undefined {
  const step: MembershipStep = { kind: "rename" };
  for (const [key, v] of Object.entries(value)) {
    const lower = key.toLowerCase();
    if (lower === "displayname" && typeof v === "string" && v.trim()) step.displayName = v;
    else if (lower === "externalid" && (typeof v === "string" || v === null)) step.externalId = v ?? undefined;
    else if (lower !== "id" && lower !== "members" && lower !== "schemas") return undefined;
  }
  return step;
}

function stepOf(op: { op?: unknown; path?: unknown; value?: unknown }): MembershipStep[] | undefined {
  const path = typeof op.path === "string" ? op.path : undefined;
  switch (op.op) {
    case "add":
      if (path === "members") return [{ kind: "add", members: asMembers(op.value) }];
      break;
    case "remove": {
      if (path === "members") return [{ kind: "remove", ids: op.value === undefined ? "all" : asMembers(op.value).map((m) => m.value) }];
      const one = path ? MEMBER_FILTER.exec(path) : null;
      if (one) return [{ kind: "remove", ids: [memberIdOf(one[1]!)] }];
      break;
    }
    case "replace":
      if (path === "members") return [{ kind: "replace", members: asMembers(op.value) }];
      if (path === "displayName" || path === "externalId") {
        const rename = renameOf({ [path]: op.value });
        return rename ? [rename] : undefined;
      }
      if (path === undefined && op.value && typeof op.value === "object" && !Array.isArray(op.value)) {
        const value = op.value as Record<string, unknown>;
        const rename = renameOf(value);
        if (!rename) return undefined;
        const membersKey = Object.keys(value).find((k) => k.toLowerCase() === "members");
        return membersKey ? [rename, { kind: "replace", members: asMembers(value[membersKey]) }] : [rename];
      }
      break;
  }
  return undefined;
}

/** The plan for a normalised PatchOp message, or undefined when it touches more than members and names. */
export function planMembershipPatch(operations: unknown[]): MembershipPlan | undefined {
  if (operations.length === 0) return undefined; // scimmy answers an empty PatchOp with invalidSyntax
  const plan: MembershipStep[] = [];
  for (const op of operations) {
    const steps = op && typeof op === "object" ? stepOf(op as Record<string, unknown>) : undefined;
    if (!steps) return undefined;
    plan.push(...steps);
  }
  return plan;
}

/** Which of `ids` are members of the group now (an indexed lookup per id, never the whole member list). */
async function membersAmong(ctx: ScimContext, groupId: string, ids: string[]): Promise<Set<string>> {
  const groups = await ctx.stores.members.groupsOf(ctx.target.name, [...new Set(ids)]);
  return new Set([...groups].filter(([, of]) => of.some((g) => g.id === groupId)).map(([id]) => id));
}

export async function applyMembershipPlan(ctx: ScimContext, groupId: string, plan: MembershipPlan): Promise<void> {
  const target = ctx.target.name;
  try {
    for (const step of plan) {
      // Reading and planning thousands of members took a while: others go first, between every step.
      await yieldToOthers();
      switch (step.kind) {
        case "add": {
          // Members already in the group are left alone: IdPs re-send them, and a retry must not call the vendor again.
          const inGroup = await membersAmong(
            ctx,
            groupId,
            step.members.map((m) => m.value),
          );
          await yieldToOthers();
          await changeMembers(
            ctx,
            groupId,
            step.members.filter((m) => !inGroup.has(m.value)),
            [],
          );
          break;
        }
        case "remove": {
          const ids =
            step.ids === "all" ? (await ctx.stores.members.of(target, groupId)).map((m) => m.value) : [...(await membersAmong(ctx, groupId, step.ids))];
          await changeMembers(ctx, groupId, [], ids);
          break;
        }
        case "replace":
          await syncMembers(ctx, groupId, step.members);
          break;
        case "rename": {
          const before = await ctx.stores.resources.get(target, "Group", groupId);
          if (!before) throw new ScimError(404, null, `Group ${groupId} not found.`);
          const doc = { ...before.doc };
          if (step.displayName !== undefined) doc.displayName = step.displayName;
          if ("externalId" in step) {
            if (step.externalId === undefined) delete doc.externalId;
            else doc.externalId = step.externalId;
          }
          if (JSON.stringify(doc) === JSON.stringify(before.doc)) break;
          await ctx.provisioner.apply({ op: "replace", kind: "Group", id: groupId, before, after: doc }, { target, requestId: ctx.request.requestId });
          await ctx.stores.resources.replace(target, "Group", groupId, doc, groupKeys(doc), {
            expectedVersion: ctx.request.expectedVersion,
            memberWork: memberWorkOf(ctx),
          });
          break;
        }
      }
    }
  } catch (error) {
    storeError(error, "Group");
  }
}

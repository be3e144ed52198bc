/**
 * A group PATCH applied with its members in chunks (src/scim/member-operations.ts, normalised as
 * src/scim/group-patch.ts shows the group to the normaliser) stores what scimmy's PatchOp on the whole group
 * would: the same document and members, or the same refusal. A differential property test (fixed seed,
 * bounded runs) on small groups, and fixed cases on a group of several chunks.
 */
import fc from "fast-check";
import SCIMMY from "scimmy";
import { normalisePatch } from "../src/scim/compat";
import { documentOf, validated } from "../src/scim/documents";
import { groupMessage } from "../src/scim/group-patch";
import { listedMembers } from "../src/scim/groups";
import { applyGroupOperations } from "../src/scim/member-operations";
import { patchedByScimmy } from "../src/scim/patch-steps";
import type { Member } from "../src/store/types";
import { CORE_GROUP, PATCH_OP } from "./helpers/bridge";

const SEED = 7643;
type Json = Record<string, unknown>;

const BASE = {
  schemas: [CORE_GROUP],
  id: "g-1",
  displayName: "Ops",
  externalId: "ext-1",
  meta: { resourceType: "Group", created: "2026-01-01T00:00:00.000Z", lastModified: "2026-01-01T00:00:00.000Z", version: 'W/"1"' },
};

/** A member as a group's view shows it (src/scim/views.ts memberView). */
function member(value: string, display?: string, type?: "User" | "Group"): Json {
  return { value, ...(display !== undefined ? { display } : {}), ...(type ? { type, $ref: `https://bridge.example/scim/v2/${type}s/${value}` } : {}) };
}

type Outcome = { refused: string } | { document: Json; members: Member[] };

/** The members stored after a write of `listed`: those kept where they were, then those joining (as groups.ts stores them). */
function storedAfter(current: Json[], listed: Member[]): Member[] {
  const wanted = new Set(listed.map((m) => m.value));
  const had = new Set(current.map((m) => m.value));
  const kept = current
    .filter((m) => wanted.has(m.value as string))
    .map((m) => ({ value: m.value as string, ...(m.display ? { display: m.display as string } : {}) }));
  return [...kept, ...listed.filter((m) => !had.has(m.value))];
}

function refusal(error: unknown): string {
  const e = error as { status?: unknown; scimType?: unknown; message?: unknown };
  if (!(error instanceof SCIMMY.Types.Error) && !(error instanceof Error && "status" in error)) throw error;
  return `${String(e.status)} ${String(e.scimType)} ${String(e.message)}`;
}

async function throughScimmy(members: Json[], body: Json): Promise<Outcome> {
  const view = members.length > 0 ? { ...BASE, members } : BASE;
  try {
    const message = normalisePatch("Group", body, view);
    const instance = validated("Group", await patchedByScimmy("Group", view, message));
    return { document: documentOf(instance), members: storedAfter(members, listedMembers(instance)) };
  } catch (error) {
    return { refused: refusal(error) };
  }
}

async function inChunks(members: Json[], body: Json): Promise<Outcome> {
  try {
    const message = await groupMessage(BASE, members, (current) => normalisePatch("Group", body, current));
    const patched = await applyGroupOperations(BASE, members, message);
    return { document: documentOf(patched.document), members: storedAfter(members, listedMembers({ members: patched.members })) };
  } catch (error) {
    return { refused: refusal(error) };
  }
}

const VALUES = ["a", "b", "c", "d", "z"];
const FILTERS = [
  'value eq "a"',
  'display eq "A"',
  'type eq "User"',
  'value eq "q"',
  'display co "A" or value eq "b"',
  'not (value eq "a")',
  "display pr",
  'value sw "c" and type eq "Group"',
  'value sw "m1"',
  'value ew "3" or display eq "B"',
];
const entry = fc.record(
  { value: fc.constantFrom(...VALUES), display: fc.constantFrom("A", "B", "Zed"), type: fc.constantFrom("User", "Group") },
  { requiredKeys: ["value"] },
);
const entries = fc.array(entry, { maxLength: 3 });
const filtered = (sub = "") => fc.constantFrom(...FILTERS).map((f) => `members[${f}]${sub}`);

const operation = fc.oneof(
  fc.record({ op: fc.constantFrom("add", "replace"), path: fc.constant("members"), value: entries }),
  fc.record({
    op: fc.constantFrom("add", "replace"),
    value: fc.record({ members: entries, displayName: fc.constantFrom("Renamed", "Ops") }, { requiredKeys: ["members"] }),
  }),
  fc.record({ op: fc.constant("remove"), path: fc.constant("members") }),
  fc.record({ op: fc.constant("remove"), path: fc.constant("members"), value: fc.array(entry, { minLength: 1, maxLength: 2 }) }),
  fc.record({ op: fc.constant("remove"), path: fc.oneof(filtered(), filtered(".display"), filtered(".value")) }),
  fc.record({ op: fc.constant("replace"), path: filtered(), value: fc.oneof(entry, entries) }),
  fc.record({ op: fc.constantFrom("add", "replace"), path: fc.oneof(filtered(".display"), filtered(".value")), value: fc.constantFrom("A", "y", "Q") }),
  fc.record({ op: fc.constant("add"), path: filtered(), value: fc.record({ display: fc.constantFrom("A", "Q") }) }),
  fc.record({
    op: fc.constantFrom("add", "replace"),
    path: fc.constantFrom("displayName", "externalId", "members.display"),
    value: fc.constantFrom("New", "A"),
  }),
  fc.record({ op: fc.constant("remove"), path: fc.constantFrom("externalId", "members.display") }),
);

const group = fc.uniqueArray(
  fc.record({
    value: fc.constantFrom(...VALUES.slice(0, 4)),
    display: fc.constantFrom(undefined, "A", "B"),
    type: fc.constantFrom(undefined, "User", "Group"),
  }),
  { selector: (m) => m.value, maxLength: 4 },
);

it(`group PATCHes applied in chunks store what scimmy's PatchOp on the whole group stores (seed ${SEED})`, async () => {
  let stored = 0;
  await fc.assert(
    fc.asyncProperty(group, fc.array(operation, { minLength: 1, maxLength: 3 }), async (shape, operations) => {
      const members = shape.map((m) => member(m.value, m.display, m.type as "User" | "Group" | undefined));
      const body = { schemas: [PATCH_OP], Operations: operations };
      const theirs = await throughScimmy(members, body);
      expect(await inChunks(members, body)).toEqual(theirs);
      if (!("refused" in theirs)) stored++;
    }),
    { seed: SEED, numRuns: 400 },
  );
  expect(stored).toBeGreaterThan(150);
});

/** Up to 90 members (scimmy is given a few dozen at a time): some filters match across chunks. */
const larger = fc
  .array(fc.record({ display: fc.constantFrom(undefined, "A", "B"), type: fc.constantFrom(undefined, "User", "Group") }), { maxLength: 90 })
  .map((list) => list.map((m, i) => ({ ...m, value: i % 7 === 0 ? `${VALUES[(i / 7) % 4]!}${i}` : `m${i}` })));

it(`…and on groups of a few chunks (seed ${SEED})`, async () => {
  await fc.assert(
    fc.asyncProperty(larger, fc.array(operation, { minLength: 1, maxLength: 3 }), async (shape, operations) => {
      const members = shape.map((m) => member(m.value, m.display, m.type as "User" | "Group" | undefined));
      const body = { schemas: [PATCH_OP], Operations: operations };
      expect(await inChunks(members, body)).toEqual(await throughScimmy(members, body));
    }),
    { seed: SEED, numRuns: 100 },
  );
});

describe("on a group of many chunks", () => {
  // 400 members, m0 … m399: every tenth a Group, display "A" on the first 30 only.
  const members = Array.from({ length: 400 }, (_, i) => member(`m${i}`, i < 30 ? "A" : `M${i}`, i % 10 === 0 ? "Group" : "User"));

  it.each([
    ["a member filter over every chunk", [{ op: "remove", path: 'members[type eq "User"]' }]],
    ["whole members replaced: the value appended once", [{ op: "replace", path: 'members[type eq "Group"]', value: [{ value: "new-1" }] }]],
    [
      "a sub-attribute set where the filter still matches after the removal",
      [{ op: "replace", path: 'members[display eq "A" or value eq "m399"].display', value: "B" }],
    ],
    ["a filter that matches nothing", [{ op: "add", path: 'members[value eq "nobody"]', value: { display: "x" } }]],
    ["a member's value changed", [{ op: "add", path: 'members[value eq "m250"]', value: { value: "m-new" } }]],
    [
      "members removed by value, with a rename",
      [
        { op: "remove", path: "members", value: [{ value: "m5" }, { value: "m399" }] },
        { op: "replace", path: "displayName", value: "X" },
      ],
    ],
    [
      "members listed by value, one kept (its display differs), the others' order kept",
      [
        { op: "add", path: "members", value: [{ value: "x" }, { value: "y" }, { value: "z", display: "Zed" }] },
        { op: "remove", path: "members", value: [{ value: "x" }, { value: "z", display: "nope" }] },
      ],
    ],
    [
      "appends and a filtered replace, in order",
      [
        { op: "add", path: "members", value: [{ value: "y" }] },
        { op: "replace", path: 'members[value eq "m7"]', value: { value: "z" } },
      ],
    ],
  ])("%s", async (_, operations) => {
    const body = { schemas: [PATCH_OP], Operations: operations };
    expect(await inChunks(members, body)).toEqual(await throughScimmy(members, body));
  });
});

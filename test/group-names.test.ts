/**
 * Group names and externalIds are the IdP's words: a group called `constructor` or `__proto__` is a group
 * like any other. Tables keyed by them (the target's vendor.groups.map, the mapping's tables) answer only
 * their own entries, never what a JavaScript object inherits.
 */
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { CORE_GROUP, patchOp, startTestBridge, type TestBridge } from "./helpers/bridge";
import { person, VENDORS, withSandboxBridge, type VendorFixture } from "./helpers/vendors";

/** constructor, __proto__, toString, hasOwnProperty, valueOf, … */
const NAMES = Object.getOwnPropertyNames(Object.prototype);
/** What an inherited member looks like once it is made a string. */
const INHERITED = /native code|\[object |=>|function /;
/** The group the target's table maps a name of Object.prototype's to (an own entry: it must still be used). */
const MAPPED_NAME = "toString";

/** The answer each kind of request gets (by the first word of its description). */
const NORMAL: Record<string, number> = { create: 201, add: 200, remove: 200, rename: 200, reid: 200, put: 200, scimmy: 200, delete: 204, find: 200 };

/** A group the exercise leaves, as it is named at the end. */
interface Left {
  id: string;
  displayName: string;
  externalId?: string;
}

interface Answer {
  what: string;
  status: number;
  body: { id?: string; detail?: string };
}

type Client = ReturnType<TestBridge["as"]>;

/** Sends each request in turn and keeps every answer, so a failure lists all that went wrong. */
class Recorder {
  readonly answers: Answer[] = [];
  constructor(private readonly t: Client) {}

  async send(what: string, request: (t: Client) => PromiseLike<{ status: number; body: unknown }>): Promise<Answer> {
    const res = await request(this.t);
    const answer = { what, status: res.status, body: (res.body ?? {}) as Answer["body"] };
    this.answers.push(answer);
    return answer;
  }

  /** Answers that are not the normal one for their request. */
  unexpected(): Answer[] {
    return this.answers.filter((a) => a.status !== NORMAL[a.what.split(" ")[0]!]);
  }
}

/**
 * For each name: a group of that name and one with it as externalId; a member added, each renamed (by the
 * membership fast path, or to the next name through scimmy), some replaced by PUT, some emptied and deleted.
 * Answers the groups left.
 */
async function exercise(rec: Recorder, memberId: string): Promise<Left[]> {
  const left: Left[] = [];
  for (const [i, name] of NAMES.entries()) {
    for (const [how, body] of [
      ["named", { displayName: name }],
      ["externalId", { displayName: `by-externalId-${i}`, externalId: name }],
    ] as const) {
      const created = await rec.send(`create ${how} ${name}`, (t) => t.post("/Groups", { schemas: [CORE_GROUP], ...body }));
      const id = created.body.id;
      if (!id) continue;
      const path = `/Groups/${id}`;
      await rec.send(`add ${how} ${name}`, (t) => t.patch(path, patchOp({ op: "add", path: "members", value: [{ value: memberId }] })));
      let displayName: string = body.displayName;
      let externalId = "externalId" in body ? body.externalId : undefined;
      if (i % 2 === 0) {
        displayName = `${displayName} renamed`;
        await rec.send(`rename ${how} ${name}`, (t) => t.patch(path, patchOp({ op: "replace", path: "displayName", value: displayName })));
      } else {
        // externalId to the next name; then a PATCH with a member filter (not the fast path) renames it and sets it back
        // (not the next group's own name: a vendor group the bridge created and renamed is never taken by name for another)
        displayName = NAMES[(i + 1) % NAMES.length]! + (how === "named" ? " (next)" : " (by externalId)");
        await rec.send(`reid ${how} ${name}`, (t) => t.patch(path, patchOp({ op: "replace", path: "externalId", value: NAMES[(i + 1) % NAMES.length] })));
        externalId = name;
        await rec.send(`scimmy ${how} ${name}`, (t) =>
          t.patch(
            path,
            patchOp(
              { op: "replace", value: { displayName } },
              { op: "add", path: "externalId", value: name },
              { op: "remove", path: 'members[display eq "nobody"]' },
            ),
          ),
        );
      }
      if (i % 3 === 0) {
        await rec.send(`remove ${how} ${name}`, (t) => t.patch(path, patchOp({ op: "remove", path: `members[value eq "${memberId}"]` })));
        await rec.send(`delete ${how} ${name}`, (t) => t.delete(path));
      } else {
        if (i % 3 === 1)
          await rec.send(`put ${how} ${name}`, (t) =>
            t.put(path, { schemas: [CORE_GROUP], displayName, ...(externalId === undefined ? {} : { externalId }), members: [{ value: memberId }] }),
          );
        left.push({ id, displayName, externalId });
      }
    }
  }
  for (const name of ["constructor", "__proto__", "hasOwnProperty"])
    await rec.send(`find ${name}`, (t) => t.get(`/Groups?filter=${encodeURIComponent(`externalId eq "${name}"`)}`));
  return left;
}

/** The vendor group ids a user record holds, however this vendor keeps them (skill groups, user groups, skills). */
function groupIdsOf(user: Record<string, unknown>): string[] {
  const held = (user.SkillGroupId ?? user.UserGroup ?? user.skills ?? []) as unknown[];
  return held.map((g) => String(g && typeof g === "object" ? (g as { skillId?: unknown }).skillId : g));
}

/** The table: the fixture's seeded group, and one more seeded group mapped from a name of Object.prototype's. */
function tableFor(fixture: VendorFixture): { seeded: { id: string; name: string }[]; map: Record<string, string> } {
  const first = fixture.groups.model === "userAttribute" ? fixture.groups.seed : { id: "g-first", name: "First" };
  // Huawei's skill ids are integers.
  const mapped = { id: /^\d+$/.test(first.id) ? String(Number(first.id) + 1) : `${first.id}-mapped`, name: "Mapped" };
  return { seeded: [first, mapped], map: { [first.name]: first.id, [MAPPED_NAME]: mapped.id } };
}

describe.each(VENDORS)("$name: groups named like Object.prototype's members", (fixture) => {
  it("are created, joined, renamed and deleted as any group is, and never resolve to an inherited member", async () => {
    const { seeded, map } = tableFor(fixture);
    await withSandboxBridge(fixture, { groups: fixture.groups.model === "membership" ? { map, unknown: "create" } : { map } }, async (bridge, sandbox) => {
      for (const g of seeded) sandbox.seedGroup(g.id, g.name);
      const t = bridge.as("t");
      const member = (await t.post("/Users", person()).expect(201)).body.id as string;
      const rec = new Recorder(t);
      await rec.send(`create ${seeded[0]!.name}`, (c) => c.post("/Groups", { schemas: [CORE_GROUP], displayName: seeded[0]!.name }));
      await rec.send(`add ${seeded[0]!.name}`, (c) =>
        c.patch(`/Groups/${rec.answers.at(-1)!.body.id}`, patchOp({ op: "add", path: "members", value: [{ value: member }] })),
      );
      const left = await exercise(rec, member);

      expect(rec.unexpected()).toEqual([]);
      expect(JSON.stringify(sandbox.calls.map((c) => c.params))).not.toMatch(INHERITED);
      await expectVendorGroups(fixture, sandbox, bridge, left, seeded);
    });
  });
});

/** Every vendor group the bridge names is one the vendor has: seeded (by the table's own entries) or created. */
async function expectVendorGroups(
  fixture: VendorFixture,
  sandbox: VendorSandbox,
  bridge: TestBridge,
  left: Left[],
  seeded: { id: string; name: string }[],
): Promise<void> {
  const vendorUser = [...sandbox.users.values()][0]!;
  const key = fixture.keyOf(vendorUser);
  if (fixture.groups.model === "userAttribute") {
    // Only the table's own entries reach the vendor: "Tier 1", and the mapped group while a group is named so.
    const mapped = left.some((g) => g.displayName === MAPPED_NAME || g.externalId === MAPPED_NAME);
    const expected = [seeded[0]!.id, ...(mapped ? [seeded[1]!.id] : [])];
    // (two SCIM groups that map to one vendor group each send its id)
    expect([...new Set(groupIdsOf(vendorUser))].sort()).toEqual(expected.sort());
    return;
  }
  for (const g of left) {
    const link = await bridge.stores.links.groupLinkOf("t", g.id);
    expect(link && sandbox.groups.has(link.vendorGroupId)).toBe(true);
    expect(sandbox.groups.get(link!.vendorGroupId)!.members.has(key)).toBe(true);
  }
  // The groups named toString or with that externalId joined the table's group, not a new one.
  expect(sandbox.groups.get(seeded[1]!.id)!.members.has(key)).toBe(true);
}

describe("a store-only target", () => {
  let bridge: TestBridge;
  beforeEach(async () => {
    bridge = await startTestBridge([{ name: "s" }]);
  });
  afterEach(async () => bridge.close());

  it("answers every request about groups named like Object.prototype's members normally", async () => {
    const t = bridge.as("s");
    const member = (await t.post("/Users", person()).expect(201)).body.id as string;
    const rec = new Recorder(t);
    const left = await exercise(rec, member);
    expect(rec.unexpected()).toEqual([]);
    const groups = (await t.get(`/Users/${member}`).expect(200)).body.groups as { value: string; display: string }[];
    expect(groups.map((g) => g.value).sort()).toEqual(left.map((g) => g.id).sort());
    // the group named toLocaleString was renamed after the next name, which wraps round to constructor
    const found = await t.get(`/Groups?filter=${encodeURIComponent('displayName eq "constructor (next)"')}`).expect(200);
    expect(found.body.Resources.map((g: { displayName: string }) => g.displayName)).toEqual(["constructor (next)"]);
  });
});

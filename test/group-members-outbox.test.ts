/**
 * A vendor that keeps a user's groups on the user (CIAM's UserGroup, CCC's skill groups, Huawei's skills):
 * a membership change is recorded with work for each user it touches and carried out by the outbox — the
 * one writer of what the bridge believes the vendor holds. Through an outage nothing is lost and nothing is
 * answered 504; a removal is deprovisioning work; the group path and the user path never overwrite each other.
 */
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { CORE_GROUP, outboxDrained, patchOp, startTestBridge, type TestBridge } from "./helpers/bridge";
import { ENV, person, VENDORS } from "./helpers/vendors";

const ciam = VENDORS.find((v) => v.name === "tencent-ciam")!;
const seed = ciam.groups.model === "userAttribute" ? ciam.groups.seed : undefined!;
const SECOND = { id: "user-group-2", name: "Tier 2" };

async function withCiam(run: (bridge: TestBridge, sandbox: VendorSandbox) => Promise<void>, outbox: Record<string, unknown> = {}): Promise<void> {
  const sandbox = ciam.sandbox();
  sandbox.seedGroup(seed.id, seed.name);
  sandbox.seedGroup(SECOND.id, SECOND.name);
  const vendor = { ...ciam.vendor(await sandbox.listen()), groups: { map: { [seed.name]: seed.id, [SECOND.name]: SECOND.id } } };
  const bridge = await startTestBridge([{ name: "t", vendor }], { env: ENV, outbox: { pollMs: 20, ...outbox } });
  try {
    await run(bridge, sandbox);
  } finally {
    await bridge.close();
    await sandbox.close();
  }
}

/** The vendor user of `userName` (CIAM keys users by its own id). */
function vendorUser(sandbox: VendorSandbox, userName: string): Record<string, unknown> | undefined {
  return [...sandbox.users.values()].find((u) => u.UserName === userName);
}

/** The i-th of several people (CIAM keeps names, emails and phones unique). */
const somebody = (i: number) =>
  person({
    userName: `p${i}@example.com`,
    externalId: `x${i}`,
    emails: [{ primary: true, value: `p${i}@example.com`, type: "work" }],
    phoneNumbers: [{ value: `1380013800${i}`, type: "mobile" }],
  });

const groupsAt = (sandbox: VendorSandbox, userName: string) => [...((vendorUser(sandbox, userName)?.UserGroup as string[] | undefined) ?? [])].sort();

describe("memberships through the users' outbox work", () => {
  it("reach the vendor after an outage that refused every call, with no request answered 504", async () => {
    await withCiam(async (bridge, sandbox) => {
      const t = bridge.as("t");
      const people: { id: string; userName: string }[] = [];
      for (let i = 0; i < 6; i++) people.push((await t.post("/Users", somebody(i)).expect(201)).body);
      const tier1 = (await t.post("/Groups", { schemas: [CORE_GROUP], displayName: seed.name, members: [] }).expect(201)).body;
      const tier2 = (await t.post("/Groups", { schemas: [CORE_GROUP], displayName: SECOND.name, members: [] }).expect(201)).body;
      await outboxDrained(bridge.stores.outbox);

      sandbox.outage(true);
      // A client that never retries: every answer must mean "recorded".
      for (const p of people) await t.patch(`/Groups/${tier1.id}`, patchOp({ op: "add", path: "members", value: [{ value: p.id }] })).expect(200);
      for (const p of people.slice(0, 3)) await t.patch(`/Groups/${tier2.id}`, patchOp({ op: "add", path: "members", value: [{ value: p.id }] })).expect(200);
      await t.patch(`/Groups/${tier1.id}`, patchOp({ op: "remove", path: `members[value eq "${people[0].id}"]` })).expect(200);
      expect(people.every((p) => groupsAt(sandbox, p.userName).length === 0)).toBe(true);
      // The removal waits as deprovisioning work.
      const pending = await bridge.stores.outbox.list({ target: "t", limit: 100 });
      expect(pending.find((w) => w.scimId === people[0].id)?.deprovision).toBe(true);
      sandbox.outage(false);

      await bridge.stores.outbox.release(["t"]);
      await outboxDrained(bridge.stores.outbox, 60_000);
      const memberships = await bridge.stores.members.groupsOf(
        "t",
        people.map((p) => p.id),
      );
      for (const p of people) {
        const want = (memberships.get(p.id) ?? []).map((g) => (g.displayName === seed.name ? seed.id : SECOND.id)).sort();
        expect(groupsAt(sandbox, p.userName)).toEqual(want);
      }
      expect(groupsAt(sandbox, people[0].userName)).toEqual([SECOND.id]);
    });
  });

  it("the user path and the group path changing one user at once: the vendor ends as the store says", async () => {
    await withCiam(async (bridge, sandbox) => {
      const t = bridge.as("t");
      const u = (await t.post("/Users", person()).expect(201)).body;
      const g = (await t.post("/Groups", { schemas: [CORE_GROUP], displayName: seed.name, members: [] }).expect(201)).body;
      for (let round = 0; round < 9; round++) {
        const name = `Name ${round}`;
        const membership = round % 2 === 0 ? { op: "add", path: "members", value: [{ value: u.id }] } : { op: "remove", path: `members[value eq "${u.id}"]` };
        await Promise.all([
          t.patch(`/Users/${u.id}`, patchOp({ op: "replace", path: "displayName", value: name })).expect(200),
          t.patch(`/Groups/${g.id}`, patchOp(membership)).expect(200),
        ]);
      }
      await outboxDrained(bridge.stores.outbox, 60_000);
      const stored = (await t.get(`/Users/${u.id}`).expect(200)).body;
      expect(stored.displayName).toBe("Name 8");
      expect(vendorUser(sandbox, u.userName)?.Nickname).toBe("Name 8");
      expect(groupsAt(sandbox, u.userName)).toEqual([seed.id]);
    });
  });
});

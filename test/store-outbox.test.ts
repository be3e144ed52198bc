/** The outbox's contract, both stores: what the worker relies on to deliver every change once, in order. */
import type { Stores } from "../src/store/stores";
import type { WorkOrder } from "../src/store/types";
import { freshStoreEach, recordWork, STORES } from "./helpers/stores";
import { eventually } from "./helpers/bridge";

const change: WorkOrder = { deprovision: false, resendStatus: false, horizonMs: 60_000 };
const leaver: WorkOrder = { deprovision: true, resendStatus: true, horizonMs: 60_000 };
const doc = (name: string) => ({ doc: { userName: name }, keys: { userName: name, emails: [] } });

describe.each(STORES)("$name outbox", (factory) => {
  const current = freshStoreEach(factory);

  it("records work with the change in one write, and none when the write fails", async () => {
    const a = doc("ann");
    await current.store.resources.create("t", "User", "u-1", a.doc, a.keys, change);
    expect((await current.store.outbox.workOf("t", ["u-1"])).get("u-1")).toMatchObject({ state: "pending", generation: 1, attempts: 0, deprovision: false });
    await expect(current.store.resources.create("t", "User", "u-2", a.doc, a.keys, change)).rejects.toThrow(); // the same userName
    expect((await current.store.outbox.workOf("t", ["u-2"])).size).toBe(0);
    await expect(current.store.resources.replace("t", "User", "u-1", a.doc, a.keys, { expectedVersion: 99, work: change })).rejects.toThrow(); // a stale version
    expect((await current.store.outbox.workOf("t", ["u-1"])).get("u-1")!.generation).toBe(1);
  });

  it("a membership change records work for the users it touches, in its own write: never for groups, other targets' users or unknown ids", async () => {
    const { store } = current;
    for (const name of ["ann", "ben", "cat"]) await store.resources.create("t", "User", `u-${name}`, doc(name).doc, doc(name).keys);
    await store.resources.create("other", "User", "u-elsewhere", doc("eve").doc, doc("eve").keys);
    await store.resources.create("t", "Group", "g-1", { displayName: "G" }, { displayName: "G" });
    await store.resources.create("t", "Group", "g-2", { displayName: "H" }, { displayName: "H" });
    const ids = ["u-ann", "u-ben", "g-2", "u-elsewhere", "made-up"];
    await store.members.add(
      "t",
      "g-1",
      ids.map((value) => ({ value })),
      { memberWork: change },
    );
    const touched = async () => [...(await store.outbox.workOf("t", ids)).values()].map((w) => `${w.scimId}:${w.deprovision}`).sort();
    expect(await touched()).toEqual(["u-ann:false", "u-ben:false"]);
    expect((await store.outbox.workOf("other", ["u-elsewhere"])).size).toBe(0);
    await store.members.remove("t", "g-1", ["u-ben"], { memberWork: leaver });
    expect(await touched()).toEqual(["u-ann:false", "u-ben:true"]);
    // A whole group's members: removed all at once, or with the group.
    await store.members.add("t", "g-2", [{ value: "u-cat" }]);
    await store.members.remove("t", "g-2", "all", { memberWork: leaver });
    expect((await store.outbox.workOf("t", ["u-cat"])).get("u-cat")?.deprovision).toBe(true);
    await store.resources.remove("t", "Group", "g-1", { memberWork: leaver });
    expect(await touched()).toEqual(["u-ann:true", "u-ben:true"]);
    expect((await store.outbox.workOf("t", ["u-ann"])).get("u-ann")!.generation).toBe(2);
  });

  it("one process claims a row; a lease that runs out falls back to another", async () => {
    await recordWork(current.store, "t", "u-1", change);
    const other = await current.another();
    const [mine] = await current.store.outbox.claim("p1", 300, 10, ["t", "a", "b"]);
    expect(mine).toMatchObject({ scimId: "u-1", leaseOwner: "p1" });
    expect(await other.outbox.claim("p2", 300, 10, ["t", "a", "b"])).toEqual([]);
    expect(await other.outbox.claimOne("t", "u-1", "p2", 300)).toBeUndefined();
    // Once the lease has run out, the other process gets the row.
    const taken = await eventually(async () => {
      const claimed = await other.outbox.claim("p2", 300, 10, ["t", "a", "b"]);
      return claimed.length > 0 && claimed;
    }, 5_000);
    expect(taken.map((w) => w.leaseOwner)).toEqual(["p2"]);
    // The first owner's late settlement changes nothing: its lease is gone.
    expect(await current.store.outbox.settle("t", "u-1", "p1", 1, { state: "done" })).toBeUndefined();
    expect((await current.store.outbox.workOf("t", ["u-1"])).get("u-1")!.state).toBe("pending");
  });

  it("concurrent claims from two processes never hand out the same row", async () => {
    for (let i = 0; i < 40; i++) await recordWork(current.store, "t", `u-${i}`, change);
    const other = await current.another();
    const [a, b] = await Promise.all([current.store.outbox.claim("p1", 10_000, 25, ["t", "a", "b"]), other.outbox.claim("p2", 10_000, 25, ["t", "a", "b"])]);
    const ids = [...a, ...b].map((w) => w.scimId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(40);
  });

  it("a process claims only the targets it serves", async () => {
    await recordWork(current.store, "served", "u-1", leaver);
    await recordWork(current.store, "elsewhere", "u-2", leaver);
    expect((await current.store.outbox.claim("p1", 10_000, 10, ["served"])).map((w) => w.target)).toEqual(["served"]);
    expect((await current.store.outbox.workOf("elsewhere", ["u-2"])).get("u-2")!.leaseOwner).toBeUndefined();
  });

  it("deprovisioning is claimed first, and a later change never drops it", async () => {
    await recordWork(current.store, "t", "profile", change);
    await recordWork(current.store, "t", "leaver", leaver);
    await recordWork(current.store, "t", "leaver", change); // a profile change after the deactivation, before delivery
    const claimed = await current.store.outbox.claim("p1", 10_000, 10, ["t", "a", "b"]);
    expect(claimed.map((w) => w.scimId)).toEqual(["leaver", "profile"]);
    expect(claimed[0]).toMatchObject({ deprovision: true, resendStatus: true, generation: 2 });
    expect(claimed[0]!.horizonAt).toBeUndefined(); // no horizon: retried for ever
  });

  it("a change recorded while a run is under way keeps the row pending: the run settles only its own generation", async () => {
    await recordWork(current.store, "t", "u-1", change);
    const [run] = await current.store.outbox.claim("p1", 10_000, 1, ["t", "a", "b"]);
    await recordWork(current.store, "t", "u-1", change);
    const after = await current.store.outbox.settle("t", "u-1", "p1", run!.generation, { state: "done" });
    expect(after).toMatchObject({ state: "pending", generation: 2 });
    expect(after!.leaseOwner).toBeUndefined();
    const [again] = await current.store.outbox.claim("p1", 10_000, 1, ["t", "a", "b"]);
    expect(await current.store.outbox.settle("t", "u-1", "p1", again!.generation, { state: "done" })).toMatchObject({ state: "done", attempts: 0 });
  });

  it("retries are due later and counted; failures are dead letters until re-driven or changed", async () => {
    await recordWork(current.store, "t", "u-1", change);
    let [run] = await current.store.outbox.claim("p1", 10_000, 1, ["t", "a", "b"]);
    await current.store.outbox.markCreateIntent("t", "u-1", "p1", true);
    const later = await current.store.outbox.settle("t", "u-1", "p1", run!.generation, {
      state: "pending",
      retryInMs: 60_000,
      attempted: true,
      code: "InternalError",
      detail: "down",
    });
    expect(later).toMatchObject({ state: "pending", attempts: 1, lastCode: "InternalError", createIntent: true });
    expect(await current.store.outbox.claim("p1", 10_000, 1, ["t", "a", "b"])).toEqual([]); // not due yet
    [run] = [(await current.store.outbox.claimOne("t", "u-1", "p1", 10_000))!];
    await current.store.outbox.settle("t", "u-1", "p1", run!.generation, { state: "failed", code: "InvalidParameter", detail: "refused" });
    expect((await current.store.outbox.list({ state: "failed", limit: 10 })).map((w) => w.scimId)).toEqual(["u-1"]);
    expect(await current.store.outbox.stats()).toMatchObject({ depth: [{ target: "t", state: "failed", count: 1 }] });
    expect(await current.store.outbox.redrive("t", { failed: true }, 60_000)).toBe(1);
    expect((await current.store.outbox.workOf("t", ["u-1"])).get("u-1")).toMatchObject({ state: "pending", attempts: 0 });
    expect(await current.store.outbox.drop("t", "u-1")).toBe(true);
    expect(await current.store.outbox.list({ limit: 10 })).toEqual([]);
  });

  it("reports the oldest pending deprovisioning per target", async () => {
    const before = Date.now();
    await recordWork(current.store, "a", "u-1", leaver);
    await recordWork(current.store, "a", "u-2", change);
    await recordWork(current.store, "b", "u-3", change);
    const stats = await current.store.outbox.stats();
    expect(stats.oldestDeprovision).toEqual([{ target: "a", since: expect.any(Number) }]);
    expect(stats.oldestDeprovision[0]!.since).toBeGreaterThanOrEqual(before);
    expect(stats.depth.sort((x, y) => x.target.localeCompare(y.target))).toEqual([
      { target: "a", state: "pending", count: 2 },
      { target: "b", state: "pending", count: 1 },
    ]);
  });

  it("a deprovisioning keeps when it was asked, through later changes and a refusal; a refused one stays open", async () => {
    await recordWork(current.store, "t", "u-1", change);
    await new Promise((r) => setTimeout(r, 20));
    await recordWork(current.store, "t", "u-1", leaver); // joins the pending create: asked now, not when the create was
    const [run] = await current.store.outbox.claim("p1", 10_000, 1, ["t"]);
    expect(run!.deprovisionAt).toBeGreaterThan(run!.firstAt);
    await current.store.outbox.settle("t", "u-1", "p1", run!.generation, { state: "failed", code: "InvalidParameter", detail: "refused" });
    // The vendor refused it: still the leaver's open deprovisioning, as old as it was.
    expect((await current.store.outbox.stats()).oldestDeprovision).toEqual([{ target: "t", since: run!.deprovisionAt }]);
    await recordWork(current.store, "t", "u-1", change); // a profile change of the inactive user does not make it ordinary work
    expect((await current.store.outbox.workOf("t", ["u-1"])).get("u-1")).toMatchObject({
      state: "pending",
      deprovision: true,
      deprovisionAt: run!.deprovisionAt,
    });
    expect((await current.store.outbox.workOf("t", ["u-1"])).get("u-1")!.horizonAt).toBeUndefined();
  });

  it("work a circuit held is released: due now for the targets named, and only those", async () => {
    for (const [target, id] of [
      ["t", "u-1"],
      ["t", "u-2"],
      ["other", "u-3"],
    ])
      await recordWork(current.store, target!, id!, change);
    for (const item of await current.store.outbox.claim("p1", 10_000, 10, ["t", "other"]))
      await current.store.outbox.settle(item.target, item.scimId, "p1", item.generation, {
        state: "pending",
        retryInMs: 600_000,
        attempted: false,
        detail: "held",
      });
    expect(await current.store.outbox.claim("p1", 10_000, 10, ["t", "other"])).toEqual([]);
    expect(await current.store.outbox.release(["t"])).toBe(2);
    expect((await current.store.outbox.claim("p1", 10_000, 10, ["t", "other"])).map((w) => w.scimId).sort()).toEqual(["u-1", "u-2"]);
  });

  it("credential state is read and written atomically across processes", async () => {
    const other = await current.another();
    const bump = (s: Stores) =>
      s.credentials.update("c", (text) => {
        const n = Number(text ?? "0") + 1;
        return { state: String(n), result: n };
      });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => bump(i % 2 ? current.store : other)));
    expect([...results].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});

/** One contract, both stores: what the SCIM layer and the provisioning engine rely on. */
import { NotFoundError, UniquenessError, VersionMismatchError, type VendorCallRecord } from "../src/store/types";
import type { Stores } from "../src/store/stores";
import { STORES } from "./helpers/stores";

const user = (name: string) => ({
  doc: { userName: name, emails: [{ value: `${name}@x.com` }] },
  keys: { userName: name, emails: [`${name}@x.com`], externalId: `ext-${name}`, displayName: name.toUpperCase() },
});

describe.each(STORES)("$name store", (factory) => {
  let store: Stores;
  let dispose: () => Promise<void>;
  let another: () => Promise<Stores>;
  beforeEach(async () => {
    ({ store, dispose, another } = await factory.open());
  });
  afterEach(async () => dispose());

  it("migrates idempotently", async () => {
    expect(await store.admin.migrate()).toBe(0);
    await store.admin.ping();
  });

  it("creates, reads, replaces with a version check, and removes", async () => {
    const a = user("ann");
    const created = await store.resources.create("t", "User", "id-1", a.doc, a.keys);
    expect(created.version).toBe(1);
    expect((await store.resources.get("t", "User", "id-1"))!.doc).toEqual(a.doc);
    expect(await store.resources.get("other", "User", "id-1")).toBeUndefined();
    const replaced = await store.resources.replace("t", "User", "id-1", { ...a.doc, title: "x" }, a.keys, { expectedVersion: 1 });
    expect(replaced.version).toBe(2);
    await expect(store.resources.replace("t", "User", "id-1", a.doc, a.keys, { expectedVersion: 1 })).rejects.toBeInstanceOf(VersionMismatchError);
    await expect(store.resources.remove("t", "User", "id-1", { expectedVersion: 1 })).rejects.toBeInstanceOf(VersionMismatchError);
    await store.resources.remove("t", "User", "id-1", { expectedVersion: 2 });
    await expect(store.resources.remove("t", "User", "id-1")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("keeps userName unique per target, ignoring case, also for concurrent writers", async () => {
    const stores = [store, await another()];
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        stores[i % 2]!.resources.create("t", "User", `id-${i}`, { userName: "Same" }, { userName: i % 2 ? "SAME" : "same", emails: [] }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.filter((r) => r.status === "rejected").every((r) => (r as PromiseRejectedResult).reason instanceof UniquenessError)).toBe(true);
    await store.resources.create("other", "User", "id-x", { userName: "same" }, { userName: "same", emails: [] });
  });

  it("answers lookups from indexes and pages what it scans", async () => {
    for (const n of ["ann", "bob", "cat", "dan", "eve"]) await store.resources.create("t", "User", `id-${n}`, user(n).doc, user(n).keys);
    const by = async (attribute: "userName" | "emails" | "externalId" | "displayName" | "id", value: string) =>
      (await store.resources.list("t", "User", { lookups: [{ attribute, value }], startIndex: 1, count: 10 })).resources.map((r) => r.id);
    expect(await by("userName", "BOB")).toEqual(["id-bob"]);
    expect(await by("emails", "CAT@x.com")).toEqual(["id-cat"]);
    expect(await by("externalId", "ext-dan")).toEqual(["id-dan"]);
    expect(await by("displayName", "eve")).toEqual(["id-eve"]);
    const page = await store.resources.list("t", "User", { startIndex: 2, count: 2 });
    expect(page.total).toBe(5);
    expect(page.resources.map((r) => r.id)).toEqual(["id-bob", "id-cat"]);
    const scanned = await store.resources.list("t", "User", {
      predicate: (r) => String(r.doc.userName) > "b",
      startIndex: 2,
      count: 2,
      sort: { column: "userName", descending: true },
    });
    expect(scanned.total).toBe(4);
    expect(scanned.resources.map((r) => r.id)).toEqual(["id-dan", "id-cat"]);
  });

  it("answers lookups and kinds in insertion order, and only of the target and kind asked", async () => {
    await store.resources.create("t", "User", "id-2", user("two").doc, { ...user("two").keys, externalId: "shared" });
    await store.resources.create("other", "User", "id-x", user("two").doc, { ...user("two").keys, externalId: "shared" });
    await store.resources.create("t", "Group", "g-1", { displayName: "G" }, { displayName: "G", externalId: "shared" });
    await store.resources.create("t", "User", "id-1", user("one").doc, { ...user("one").keys, externalId: "shared" });
    const page = await store.resources.list("t", "User", { lookups: [{ attribute: "externalId", value: "shared" }], startIndex: 1, count: 10 });
    expect(page.resources.map((r) => r.id)).toEqual(["id-2", "id-1"]);
    expect(page.total).toBe(2);
    const kinds = await store.resources.kindsOf("t", ["id-1", "g-1", "id-x", "nope", "id-1"]);
    expect([...kinds.entries()].sort()).toEqual([
      ["g-1", "Group"],
      ["id-1", "User"],
    ]);
  });

  it("stores membership as rows; removing a member's resource removes its memberships", async () => {
    await store.resources.create("t", "Group", "g-1", { displayName: "G" }, { displayName: "G" });
    await store.resources.create("t", "User", "u-1", user("u1").doc, user("u1").keys);
    const after = await store.members.add("t", "g-1", [{ value: "u-1", display: "U1" }, { value: "unknown-id" }]);
    expect(after.version).toBe(2);
    expect(await store.members.of("t", "g-1")).toEqual([{ value: "u-1", display: "U1", type: "User" }, { value: "unknown-id" }]);
    expect((await store.members.groupsOf("t", ["u-1"])).get("u-1")).toEqual([{ id: "g-1", displayName: "G" }]);
    await store.resources.remove("t", "User", "u-1");
    expect(await store.members.of("t", "g-1")).toEqual([{ value: "unknown-id" }]);
    await store.members.add("t", "g-1", [{ value: "a" }, { value: "b" }]);
    // Members keep the order they joined in; one added again keeps its place and takes the display given.
    await store.members.add("t", "g-1", [{ value: "c" }, { value: "a", display: "A" }]);
    expect(await store.members.of("t", "g-1")).toEqual([{ value: "unknown-id" }, { value: "a", display: "A" }, { value: "b" }, { value: "c" }]);
    await store.members.remove("t", "g-1", ["a", "c"]);
    expect((await store.members.of("t", "g-1")).map((m) => m.value)).toEqual(["unknown-id", "b"]);
    await store.members.remove("t", "g-1", "all");
    expect(await store.members.of("t", "g-1")).toEqual([]);
    await expect(store.members.add("t", "nope", [{ value: "a" }])).rejects.toBeInstanceOf(NotFoundError);
  });

  it("keeps vendor links after deletion, with state and acknowledged payloads", async () => {
    await store.links.record({ target: "t", scimId: "u-1", vendor: "v", vendorKey: "k-1", link: "created", userName: "ann" });
    await store.links.update("t", "u-1", { state: "disabled", acknowledged: { update: { A: 1 } } });
    await store.links.markDeleted("t", "u-1");
    const [link] = await store.links.all("t");
    expect(link).toMatchObject({ scimId: "u-1", vendorKey: "k-1", link: "created", state: "disabled", acknowledged: { update: { A: 1 } } });
    expect(link!.deletedAt).toBeDefined();
    expect((await store.links.of("t", ["u-1", "u-2"])).size).toBe(1);
    await store.links.recordGroupLink({ target: "t", scimId: "g-1", vendorGroupId: "vg-1", createdByBridge: true });
    expect(await store.links.groupLinkOf("t", "g-1")).toEqual({ target: "t", scimId: "g-1", vendorGroupId: "vg-1", createdByBridge: true });
    await store.links.removeGroupLink("t", "g-1");
    expect(await store.links.groupLinkOf("t", "g-1")).toBeUndefined();
  });

  it("keeps the vendor call trail per target and subject, newest first, and prunes it by age", async () => {
    const call = (at: string, scimId: string | undefined, outcome: VendorCallRecord["outcome"]): VendorCallRecord => ({
      target: "t",
      at,
      requestId: `r-${at}`,
      ...(scimId ? { scimId } : {}),
      operation: "create",
      call: "CreateUser",
      outcome,
      attempts: 1,
      ms: 12,
    });
    await store.trail.record(call("2026-01-01T00:00:00.000Z", "u-1", "success"));
    await store.trail.record({ ...call("2026-02-01T00:00:00.000Z", "u-1", "conflict"), code: "UserExists", vendorRequestId: "vr-1" });
    await store.trail.record(call("2026-03-01T00:00:00.000Z", undefined, "deadline"));
    await store.trail.record({ ...call("2026-03-02T00:00:00.000Z", "u-1", "success"), target: "other" });
    const ofUser = await store.trail.calls("t", { scimId: "u-1", limit: 10 });
    expect(ofUser.map((c) => c.outcome)).toEqual(["conflict", "success"]);
    expect(ofUser[0]).toEqual({ ...call("2026-02-01T00:00:00.000Z", "u-1", "conflict"), code: "UserExists", vendorRequestId: "vr-1" });
    expect((await store.trail.calls("t", { limit: 2 })).map((c) => c.at)).toEqual(["2026-03-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"]);
    expect(await store.trail.prune("2026-02-15T00:00:00.000Z")).toBe(2);
    expect((await store.trail.calls("t", { limit: 10 })).map((c) => c.outcome)).toEqual(["deadline"]);
    expect(await store.trail.calls("other", { limit: 10 })).toHaveLength(1);
    // Creates that may have made a vendor user, newest first, by the hash of the name asked for.
    await store.trail.record({ ...call("2026-04-01T00:00:00.000Z", "u-2", "success"), nameHash: "h-1" });
    await store.trail.record({ ...call("2026-04-02T00:00:00.000Z", "u-3", "transient"), nameHash: "h-2" });
    await store.trail.record({ ...call("2026-04-03T00:00:00.000Z", "u-4", "conflict"), nameHash: "h-1" });
    await store.trail.record({ ...call("2026-04-04T00:00:00.000Z", "u-5", "deadline"), nameHash: "h-1" });
    await store.trail.record({ ...call("2026-04-05T00:00:00.000Z", "u-6", "success"), nameHash: "h-1", target: "other" });
    expect((await store.trail.createCalls("t", ["h-1", "h-2"])).map((c) => c.scimId)).toEqual(["u-5", "u-3", "u-2"]);
    expect((await store.trail.createCalls("t")).map((c) => c.scimId)).toEqual(["u-5", "u-3", "u-2"]);
  });
});

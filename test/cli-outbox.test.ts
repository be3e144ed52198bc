/**
 * `outbox list | show | retry | drop` on a bridge's SQLite file: an operator's view of vendor work still to
 * do, dead letters made due again, and a dropped deprovisioning that says loudly what stays undone.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { outboxCommand, type OutboxArgs } from "../src/cli/outbox";
import { auditCommand } from "../src/cli/audit";
import { configFrom } from "../src/config/load";
import type { Config } from "../src/config/schema";
import { SqliteStore } from "../src/store/sqlite";

const dir = mkdtempSync(join(tmpdir(), "scim-bridge-outbox-cli-"));
let config: Config;
let files = 0;
const run = (args: Partial<OutboxArgs>) => outboxCommand(config, { sub: "list", failed: false, json: false, ...args });

// Each test gets a bridge file of its own with the same rows: a pending user, a pending leaver, a dead letter.
beforeEach(async () => {
  const path = join(dir, `bridge-${files++}.db`);
  config = configFrom({
    store: { kind: "sqlite", path },
    targets: [
      { name: "t", tokens: [{ sha256: "a".repeat(64) }] },
      { name: "u", tokens: [{ sha256: "b".repeat(64) }] },
    ],
  });
  const store = new SqliteStore(path);
  await store.migrate();
  const order = { deprovision: false, resendStatus: false, horizonMs: 86_400_000 };
  await store.create("t", "User", "u-ann", { userName: "ann@example.com", active: true }, { userName: "ann@example.com", emails: [] }, order);
  await store.create(
    "t",
    "User",
    "u-bob",
    { userName: "bob@example.com", active: false },
    { userName: "bob@example.com", emails: [] },
    { ...order, deprovision: true },
  );
  await store.recordLink({ target: "t", scimId: "u-bob", vendor: "tencent-cic", vendorKey: "vk-bob", link: "created", userName: "bob@example.com" });
  await store.enqueueWork("u", "u-cat", order);
  // Ann's delivery failed for good: a dead letter with the vendor's code.
  const [ann] = (await store.claimWork("worker", 60_000, 10, ["t", "u"])).filter((w) => w.scimId === "u-ann");
  await store.settleWork("t", "u-ann", "worker", ann!.generation, {
    state: "failed",
    code: "InvalidParameter.UsernameFormatError",
    detail: "tencent-cic refused the user",
    vendorRequestId: "req-1",
  });
  await store.releaseLeases("worker");
  await store.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("lists open work, deprovisioning first, by target and state, as text or JSON", async () => {
  const all = await run({});
  expect(all.code).toBe(0);
  expect(all.out).toHaveLength(3);
  expect(all.out[0]).toMatch(/^t {2}u-bob {2}pending deprovision/);
  expect((await run({ target: "u" })).out).toEqual([expect.stringMatching(/^u {2}u-cat {2}pending change/)]);
  const failed = await run({ state: "failed", json: true });
  expect(JSON.parse(failed.out[0]!)).toEqual([
    expect.objectContaining({
      target: "t",
      scimId: "u-ann",
      state: "failed",
      vendorCode: "InvalidParameter.UsernameFormatError",
      remedy: expect.stringMatching(/outbox retry/),
    }),
  ]);
  expect(await run({ state: "nonsense" })).toMatchObject({ code: 2 });
  expect(await run({ target: "nope" })).toMatchObject({ code: 2 });
});

it("shows a row with what the IdP believes and what the vendor holds", async () => {
  const shown = await run({ sub: "show", id: "u-bob" });
  expect(shown.code).toBe(0);
  expect(shown.out[1]).toMatch(/the IdP believes the user exists and is inactive/);
  expect(shown.out[2]).toMatch(/the vendor holds vk-bob as active/);
  // A dead letter says what a person does about it.
  expect((await run({ sub: "show", id: "u-ann" })).out).toContainEqual(expect.stringMatching(/^ {2}what to do: Correct the cause/));
  expect(await run({ sub: "show", id: "u-nobody" })).toMatchObject({ code: 1 });
});

it("makes a dead letter due again, one or all of a target's; audit shows the row above the calls", async () => {
  expect((await auditCommand(config, "t", { user: "u-ann", limit: 10 })).out[0]).toMatch(
    /^outbox: failed attempts=1 vendorCode=InvalidParameter\.UsernameFormatError/,
  );
  expect((await run({ sub: "retry", id: "u-ann" })).out[0]).toMatch(/u-ann is due again/);
  expect(JSON.parse((await run({ json: true, target: "t" })).out[0]!).find((r: { scimId: string }) => r.scimId === "u-ann")).toMatchObject({
    state: "pending",
    attempts: 0,
  });
  expect((await run({ sub: "retry", failed: true, target: "t" })).out[0]).toMatch(/^0 failed rows are due again/); // none left
  expect(await run({ sub: "retry", failed: true })).toMatchObject({ code: 2 });
});

it("drops a row, and says when that leaves a leaver with access", async () => {
  const dropped = await run({ sub: "drop", id: "u-bob" });
  expect(dropped.code).toBe(0);
  expect(dropped.out.join("\n")).toMatch(/WARNING: this was a deprovisioning: the vendor user may still have access/);
  expect((await run({})).out.some((l) => l.includes("u-bob"))).toBe(false);
});

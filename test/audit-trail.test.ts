/**
 * The vendor call trail: every call the bridge makes at a vendor is recorded — operation, the vendor's action,
 * the classified answer, the vendor's code and RequestId, attempts, time — and never a parameter. The
 * `audit` command reads it per target or per user (also once the user is deleted); old records are pruned.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditCommand } from "../src/cli/audit";
import { configFrom } from "../src/config/load";
import { createLogger } from "../src/log";
import { pruneAuditTrail } from "../src/provisioning/audit-retention";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { sqliteStores } from "../src/store/open";
import type { Stores } from "../src/store/stores";
import { CORE_USER, patchOp, startTestBridge, type TestBridge } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";

const ciam = VENDORS.find((v) => v.name === "tencent-ciam")!;
const PASSWORD = "Trail-Secret-Pw-9!";
const person = (userName: string, phone = "13800138000") => ({
  schemas: [CORE_USER],
  userName,
  displayName: "Tess Trail",
  emails: [{ primary: true, value: userName }],
  phoneNumbers: [{ type: "mobile", value: phone }],
  password: PASSWORD,
  active: true,
});

describe("vendor call trail", () => {
  let dir: string;
  let store: Stores;
  let sandbox: VendorSandbox;
  let bridge: TestBridge;
  let vendor: Record<string, unknown>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "scim-bridge-audit-"));
    store = sqliteStores(join(dir, "bridge.db"));
    await store.admin.migrate();
    sandbox = ciam.sandbox();
    vendor = { ...ciam.vendor(await sandbox.listen()), deadlineMs: 15_000 };
    bridge = await startTestBridge([{ name: "t", vendor }], { env: ENV, stores: store });
  });
  afterEach(async () => {
    await bridge.close();
    await sandbox.close();
    await store.admin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = () =>
    configFrom({ store: { kind: "sqlite", path: join(dir, "bridge.db") }, targets: [{ name: "t", tokens: [{ sha256: "c".repeat(64) }], vendor }] });

  it("records each call with its outcome, code, vendor RequestId and attempts, and no parameter", async () => {
    const t = bridge.as("t");
    sandbox.failNext({ action: "CreateUser", status: 200, code: "RequestLimitExceeded", message: "slow down" });
    const created = (await t.post("/Users", person("tess@example.com")).set("X-Request-Id", "req-create-1").expect(201)).body;
    sandbox.failNext({ action: "UpdateUser", status: 200, code: "FailedOperation.AttributeFormatError", message: `bad value ${PASSWORD}` });
    await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "displayName", value: "Tess T." })).expect(400);
    await t
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "active", value: false }))
      .set("X-Request-Id", "req-off-1")
      .expect(200);

    const trail = await store.trail.calls("t", { scimId: created.id, limit: 10 });
    expect(trail.map((c) => [c.operation, c.call, c.outcome, c.attempts])).toEqual([
      ["disable", "UpdateUserStatus", "success", 1],
      ["update", "UpdateUser", "invalid", 1],
      ["create", "CreateUser", "success", 2],
    ]);
    expect(trail[1]).toMatchObject({ code: "FailedOperation.AttributeFormatError", vendorRequestId: expect.any(String) });
    expect(trail[0]).toMatchObject({ requestId: "req-off-1", target: "t" });
    expect(trail[2]).toMatchObject({ requestId: "req-create-1", vendorRequestId: expect.stringMatching(/./) });
    expect(JSON.stringify(trail)).not.toContain(PASSWORD);
    expect(JSON.stringify(trail)).not.toContain("tess@example.com"); // a trail of calls, not a copy of the profile
  });

  it("a call the deadline cut off is recorded as 'deadline', since it may have landed", async () => {
    await bridge.close();
    bridge = await startTestBridge([{ name: "t", vendor: { ...vendor, deadlineMs: 1000, onVendorDelay: "fail" } }], { env: ENV, stores: store });
    sandbox.failNext({ action: "CreateUser", status: 500, code: "InternalError", message: "slow", commit: true, delayMs: 2500 });
    await bridge.as("t").post("/Users", person("late@example.com")).expect(504);
    const [last] = await store.trail.calls("t", { limit: 1 });
    expect(last).toMatchObject({ operation: "create", call: "CreateUser", outcome: "deadline", attempts: 1 });
  }, 10_000);

  it("the audit command lists a user's calls by SCIM id or userName, also after the user is deleted", async () => {
    const t = bridge.as("t");
    const created = (await t.post("/Users", person("gone@example.com")).expect(201)).body;
    await t.post("/Users", person("other@example.com", "13900139000")).expect(201);
    await t.delete(`/Users/${created.id}`).expect(204);

    const byName = await auditCommand(config(), "t", { user: "GONE@example.com", limit: 10 });
    expect(byName.code).toBe(0);
    expect(byName.out).toHaveLength(3);
    // The user's outbox row first (its delete was delivered), then its calls.
    expect(byName.out[0]).toMatch(/^outbox: applied/);
    expect(byName.out[1]).toMatch(/success\s+delete \(DeleteUsers\)/);
    expect(byName.out[2]).toMatch(/success\s+create \(CreateUser\)/);
    expect(byName.out.slice(1).every((l) => l.includes(`scimId=${created.id}`))).toBe(true);
    expect((await auditCommand(config(), "t", { user: created.id, limit: 10 })).out).toEqual(byName.out);
    expect((await auditCommand(config(), "t", { limit: 10 })).out).toHaveLength(3);
    expect((await auditCommand(config(), "t", { limit: 1 })).out).toHaveLength(1);
    expect(await auditCommand(config(), "t", { user: "nobody@example.com", limit: 10 })).toMatchObject({ code: 1 });
    expect(await auditCommand(config(), "nope", { limit: 10 })).toMatchObject({ code: 2 });
  });

  it("records older than the retention are pruned, newer ones kept", async () => {
    await bridge.as("t").post("/Users", person("kept@example.com")).expect(201);
    const log = createLogger("error");
    expect(await pruneAuditTrail(store.trail, 30, log)).toBe(0);
    expect(await pruneAuditTrail(store.trail, 30, log, Date.now() + 31 * 24 * 3600 * 1000)).toBe(1);
    expect(await store.trail.calls("t", { limit: 10 })).toEqual([]);
  });
});

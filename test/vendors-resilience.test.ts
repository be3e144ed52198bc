/**
 * How the engine behaves when vendors push back: throttling and transient failures retried within the
 * deadline, Huawei's token cached and refreshed once on a 401, Alibaba's V3 signature end to end,
 * renames re-created where the mapping says so, and configuration mistakes refused at start.
 */
import { AliyunCccSandbox } from "../src/sandbox/aliyun-ccc";
import { HuaweiAiccSandbox } from "../src/sandbox/huawei-aicc";
import { CicSandbox } from "../src/sandbox/tencent-cic";
import { configFrom } from "../src/config/load";
import { createConnector } from "../src/provisioning/connectors";
import { mappingAt } from "../src/provisioning/targets";
import { CORE_USER, eventually, patchOp, startTestBridge } from "./helpers/bridge";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { ENV, VENDORS } from "./helpers/vendors";

const user = (userName: string) => ({
  schemas: [CORE_USER],
  userName,
  displayName: "Res Ilient",
  name: { givenName: "Res", familyName: "Ilient" },
  emails: [{ value: userName, primary: true }],
});
const cic = VENDORS.find((v) => v.name === "tencent-cic")!;

describe("vendor pushback", () => {
  // These targets wait 15 s: the retries' worst-case backoff (375 + 750 + 1500 ms) must fit in the deadline.
  it("a throttled create is retried and succeeds; under onVendorDelay: fail persistent throttling is a 429 with Retry-After", async () => {
    const sandbox = new CicSandbox({ secretId: ENV.TEST_TENCENT_ID, secretKey: ENV.TEST_TENCENT_KEY }, "z-1");
    const bridge = await startTestBridge([{ name: "t", vendor: { ...cic.vendor(await sandbox.listen()), deadlineMs: 15_000, onVendorDelay: "fail" } }], {
      env: ENV,
    });
    try {
      sandbox.failNext({ action: "CreateUser", status: 200, code: "RequestLimitExceeded", message: "slow down" });
      await bridge.as("t").post("/Users", user("once@example.com")).expect(201);
      expect(sandbox.callsOf("CreateUser").map((c) => c.answer)).toEqual(["RequestLimitExceeded", "ok"]);

      for (let i = 0; i < 4; i++) sandbox.failNext({ action: "CreateUser", status: 429, code: "RequestLimitExceeded", message: "slow down" });
      const res = await bridge.as("t").post("/Users", user("never@example.com")).expect(429);
      expect(res.headers["retry-after"]).toBe("30");
      expect(res.body.detail).toContain("RequestLimitExceeded");
      expect((await bridge.as("t").get('/Users?filter=userName eq "never@example.com"').expect(200)).body.totalResults).toBe(0);
    } finally {
      await bridge.close();
      await sandbox.close();
    }
  });

  it("by default a vendor that stays unavailable does not fail the IdP: the user is kept, pending, and delivered once the vendor is back", async () => {
    const sandbox = new CicSandbox({ secretId: ENV.TEST_TENCENT_ID, secretKey: ENV.TEST_TENCENT_KEY }, "z-1");
    const bridge = await startTestBridge([{ name: "t", vendor: { ...cic.vendor(await sandbox.listen()), retry: { firstDelayMs: 50 } } }], { env: ENV });
    try {
      sandbox.outage(true);
      const res = await bridge.as("t").post("/Users", user("down@example.com")).expect(201);
      expect(res.body[VENDOR_LINK]).toMatchObject({ provisioning: "pending", provisioningVendorCode: "InternalError", provisioningAttempts: 1 });
      expect(sandbox.users.size).toBe(0);
      sandbox.outage(false);
      await eventually(async () => (await bridge.as("t").get(`/Users/${res.body.id}`).expect(200)).body[VENDOR_LINK].provisioning === "applied");
      expect(sandbox.users.size).toBe(1);
      expect(bridge.logs.some((l) => l.includes('"level":"warn"') && l.includes("outbox: vendor work will be retried") && l.includes(res.body.id))).toBe(true);
    } finally {
      await bridge.close();
      await sandbox.close();
    }
  });

  it("under onVendorDelay: fail a vendor that stays unavailable is a 503 with Retry-After, and nothing is kept", async () => {
    const sandbox = new CicSandbox({ secretId: ENV.TEST_TENCENT_ID, secretKey: ENV.TEST_TENCENT_KEY }, "z-1");
    const bridge = await startTestBridge([{ name: "t", vendor: { ...cic.vendor(await sandbox.listen()), deadlineMs: 15_000, onVendorDelay: "fail" } }], {
      env: ENV,
    });
    try {
      for (let i = 0; i < 4; i++) sandbox.failNext({ action: "CreateUser", status: 200, code: "InternalError", message: "backend down" });
      const res = await bridge.as("t").post("/Users", user("down@example.com")).expect(503);
      expect(res.headers["retry-after"]).toBeDefined();
      expect(sandbox.users.size).toBe(0);
    } finally {
      await bridge.close();
      await sandbox.close();
    }
  });

  it("Huawei: one token serves many calls; a revoked token is refreshed once on the 401", async () => {
    const sandbox = new HuaweiAiccSandbox({ appKey: ENV.TEST_HUAWEI_KEY, appSecret: ENV.TEST_HUAWEI_SECRET });
    const huawei = VENDORS.find((v) => v.name === "huawei-aicc")!;
    const bridge = await startTestBridge([{ name: "t", vendor: huawei.vendor(await sandbox.listen()) }], { env: ENV });
    try {
      for (const n of ["aaaaaa1", "bbbbbb2", "cccccc3"])
        await bridge
          .as("t")
          .post("/Users", user(`${n}@example.com`))
          .expect(201);
      expect(sandbox.tokenRequests).toBe(1);
      sandbox.revokeTokens();
      await bridge.as("t").post("/Users", user("dddddd4@example.com")).expect(201);
      expect(sandbox.tokenRequests).toBe(2);
      expect(sandbox.users.size).toBe(4);
    } finally {
      await bridge.close();
      await sandbox.close();
    }
  });

  it("Alibaba with signature v3 (ACS3-HMAC-SHA256) end to end", async () => {
    const sandbox = new AliyunCccSandbox({ accessKeyId: ENV.TEST_ALIYUN_AK, accessKeySecret: ENV.TEST_ALIYUN_SECRET }, "inst-1", ["role-agent"]);
    const aliyun = VENDORS.find((v) => v.name === "aliyun-ccc")!;
    const bridge = await startTestBridge([{ name: "t", vendor: { ...aliyun.vendor(await sandbox.listen()), signature: "v3" } }], { env: ENV });
    try {
      await bridge.as("t").post("/Users", user("v3user@example.com")).expect(201);
      expect(sandbox.callsOf("CreateUser").map((c) => c.answer)).toEqual(["ok"]);
      expect(sandbox.callsOf("UpdateLoginProfile").map((c) => c.answer)).toEqual(["ok"]);
    } finally {
      await bridge.close();
      await sandbox.close();
    }
  });

  it("rename: recreate deletes the vendor user and creates it under the new name, memberships restored", async () => {
    const sandbox = new CicSandbox({ secretId: ENV.TEST_TENCENT_ID, secretKey: ENV.TEST_TENCENT_KEY }, "z-1");
    const url = await sandbox.listen();
    // a copy of the CIC mapping whose rename policy is recreate
    const { readFileSync, writeFileSync, mkdtempSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const file = join(mkdtempSync(join(tmpdir(), "recreate-")), "cic.yaml");
    writeFileSync(file, readFileSync("mappings/tencent-cic.yaml", "utf8").replace("  rename: reject", "  rename: recreate"));
    const bridge = await startTestBridge([{ name: "t", vendor: { ...cic.vendor(url), mapping: file, groups: { unknown: "create" } } }], { env: ENV });
    try {
      const u = (await bridge.as("t").post("/Users", user("old.name@example.com")).expect(201)).body;
      const g = (
        await bridge
          .as("t")
          .post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Keepers", members: [{ value: u.id }] })
          .expect(201)
      ).body;
      void g;
      const before = sandbox.calls.length;
      await bridge
        .as("t")
        .patch(`/Users/${u.id}`, patchOp({ op: "replace", path: "userName", value: "new.name@example.com" }))
        .expect(200);
      // CIC deletes no group member: the old user is disabled and leaves its groups before it goes.
      expect(sandbox.calls.slice(before).map((c) => c.action)).toEqual([
        "DeleteUser",
        "UpdateUserStatus",
        "RemoveUserFromGroup",
        "DeleteUser",
        "CreateUser",
        "AddUserToGroup",
      ]);
      const [vendorUser] = [...sandbox.users.values()];
      expect(vendorUser!.UserName).toBe("new.name@example.com");
      expect([...sandbox.groups.values()][0]!.members.has(vendorUser!.id)).toBe(true);
    } finally {
      await bridge.close();
      await sandbox.close();
    }
  });
});

describe("membership changes larger than one deadline", () => {
  it("a batch the deadline cuts off keeps what the vendor acknowledged; retries send only the rest and converge", async () => {
    const sandbox = new CicSandbox({ secretId: ENV.TEST_TENCENT_ID, secretKey: ENV.TEST_TENCENT_KEY }, "z-1");
    // 5 calls a second and a 1 s deadline: a PATCH of 12 members cannot be done in one request.
    const vendor = { ...cic.vendor(await sandbox.listen()), deadlineMs: 1000, rateLimit: { perSecond: 5 }, groups: { unknown: "create" } };
    const bridge = await startTestBridge([{ name: "t", vendor }], { env: ENV });
    try {
      const t = bridge.as("t");
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push((await t.post("/Users", user(`m${i}@example.com`)).expect(201)).body.id);
      const g = (await t.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Big", members: [] }).expect(201)).body;
      const add = patchOp({ op: "add", path: "members", value: ids.map((value) => ({ value })) });

      const first = await t.patch(`/Groups/${g.id}`, add);
      expect(first.status).toBe(504);
      expect(first.body.detail).toMatch(/acknowledged are kept, and retrying applies the rest/);
      const vendorGroup = () => [...sandbox.groups.values()][0]!.members;
      const kept = (await t.get(`/Groups/${g.id}`).expect(200)).body.members ?? [];
      expect(kept.length).toBeGreaterThan(0);
      // the bridge records what the vendor acknowledged; a call in flight at the deadline may have landed unseen
      expect(vendorGroup().size - kept.length).toBeGreaterThanOrEqual(0);
      expect(vendorGroup().size - kept.length).toBeLessThanOrEqual(1);

      let status = first.status;
      let cutOff = 1;
      for (let retry = 0; retry < 10 && status !== 200; retry++) {
        status = (await t.patch(`/Groups/${g.id}`, add)).status;
        if (status === 504) cutOff++;
      }
      expect(status).toBe(200);
      expect((await t.get(`/Groups/${g.id}`).expect(200)).body.members).toHaveLength(12);
      expect(vendorGroup().size).toBe(12);
      // retries skipped what was already done: each member was sent once, plus at most one unseen call per cut-off
      const sent = sandbox.callsOf("AddUserToGroup").length;
      expect(sent).toBeGreaterThanOrEqual(12);
      expect(sent).toBeLessThanOrEqual(12 + cutOff);

      // an IdP re-sending members the group already has makes no vendor call
      await t.patch(`/Groups/${g.id}`, patchOp({ op: "add", path: "members", value: [{ value: ids[0] }] })).expect(200);
      await t.patch(`/Groups/${g.id}`, patchOp({ op: "remove", path: "members", value: [{ value: "not-a-member" }] })).expect(200);
      expect(sandbox.callsOf("AddUserToGroup")).toHaveLength(sent);
      expect(sandbox.callsOf("RemoveUserFromGroup")).toHaveLength(0);
    } finally {
      await bridge.close();
      await sandbox.close();
    }
  }, 30_000);
});

describe("configuration mistakes are refused at start", () => {
  const target = (vendor: Record<string, unknown>) =>
    configFrom({ targets: [{ name: "t", tokens: [{ sha256: "c".repeat(64) }], vendor }] }).targets[0]!.vendor!;

  it("plain http without allowInsecureHttp", () => {
    const connection = target({ ...cic.vendor("http://127.0.0.1:1"), allowInsecureHttp: false });
    expect(() => createConnector(mappingAt(connection.mapping), connection, ENV)).toThrow(/allowInsecureHttp/);
  });

  it("a credential variable that is not set, named in the message", () => {
    const connection = target({ ...cic.vendor("http://127.0.0.1:1"), credentials: { secretId: "NOT_SET_ID", secretKey: "TEST_TENCENT_KEY" } });
    expect(() => createConnector(mappingAt(connection.mapping), connection, ENV)).toThrow(
      /vendor\.credentials\.secretId: environment variable NOT_SET_ID is not set/,
    );
  });

  it("a missing mapping setting, named with its description", async () => {
    await expect(startTestBridge([{ name: "t", vendor: { ...cic.vendor("http://127.0.0.1:1"), settings: {} } }], { env: ENV })).rejects.toThrow(
      /needs CIC_ZONE_ID \(The Identity Center space/,
    );
  });
});

describe("secrets in vendor answers", () => {
  it("a vendor error that echoes the password reaches neither the IdP nor the logs with it", async () => {
    const { VolcengineSandbox } = await import("../src/sandbox/volcengine");
    const volc = VENDORS.find((v) => v.name === "volcengine-cloudidentity")!;
    const sandbox = new VolcengineSandbox({ accessKeyId: ENV.TEST_VOLC_AK, secretAccessKey: ENV.TEST_VOLC_SK });
    const bridge = await startTestBridge([{ name: "t", vendor: volc.vendor(await sandbox.listen()) }], { env: ENV });
    try {
      const u = (await bridge.as("t").post("/Users", user("echo@example.com")).expect(201)).body;
      const secret = "Echoed-Passw0rd!";
      sandbox.failNext({ action: "ResetPassword", status: 400, code: "InvalidParam", message: `The parameter Password[${secret}] is invalid` });
      const res = await bridge
        .as("t")
        .patch(`/Users/${u.id}`, patchOp({ op: "replace", path: "password", value: secret }))
        .expect(400);
      expect(res.body.detail).toContain("InvalidParam");
      expect(res.body.detail).toContain("[redacted]");
      expect(res.text).not.toContain(secret);
      expect(bridge.logs.join("\n")).not.toContain(secret);
    } finally {
      await bridge.close();
      await sandbox.close();
    }
  });
});

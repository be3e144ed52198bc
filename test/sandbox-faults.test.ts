/**
 * The sandboxes' fault machinery, as a plain HTTP client sees it, for each of the five vendors: the rate limit
 * (a sliding 1000 ms window of accepted calls, the vendor's throttling answer, optional Retry-After, the
 * rate statistics), the outage (the vendor's server-error answer, nothing changed), commit-then-drop and
 * repeated faults. Requests are signed with the vendors' SDK signers (src/sandbox/sdk-signatures.ts), never
 * with the bridge's connectors; an answer is classified with the mapping file's own `errors` lists.
 */
import { createHash, randomUUID } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { loadMapping } from "../src/mapping/compile";
import type { MappingFile } from "../src/mapping/schema";
import { AliyunCccSandbox } from "../src/sandbox/aliyun-ccc";
import { HuaweiAiccSandbox } from "../src/sandbox/huawei-aicc";
import type { Json, SandboxRequest, SandboxResponse, VendorSandbox } from "../src/sandbox/sandbox";
import { aliyunRpcSignature, tencentAuthorization, volcengineAuthorization } from "../src/sandbox/sdk-signatures";
import { CiamSandbox } from "../src/sandbox/tencent-ciam";
import { CicSandbox } from "../src/sandbox/tencent-cic";
import { VolcengineSandbox } from "../src/sandbox/volcengine";
import { classByCode, classByStatus } from "../src/vendors/classify";

const ALIYUN = { accessKeyId: "LTAI-faults", accessKeySecret: "aliyun-secret" };
const TENCENT = { secretId: "AKID-faults", secretKey: "tencent-secret" };
const VOLC = { accessKeyId: "AKLT-faults", secretAccessKey: "volc-secret" };
const HUAWEI = { appKey: "huawei-key", appSecret: "huawei-secret" };

// ---- Signed requests, built as a client of the vendor would -------------------------------------------------

function aliyun(action: string, business: Record<string, string>, secret = ALIYUN.accessKeySecret): SandboxRequest {
  const params: Record<string, string> = {
    Action: action,
    Version: "2017-07-05",
    Format: "JSON",
    AccessKeyId: ALIYUN.accessKeyId,
    SignatureMethod: "HMAC-SHA1",
    SignatureVersion: "1.0",
    SignatureNonce: randomUUID(),
    Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    ...business,
  };
  const Signature = aliyunRpcSignature(params, "POST", secret);
  return {
    endpoint: "main",
    method: "POST",
    path: "/",
    query: new URLSearchParams(),
    headers: { host: "ccc.cn-shanghai.aliyuncs.com", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...params, Signature }).toString(),
  };
}

function tc3(host: string, version: string, action: string, params: Json, region?: string, secretKey = TENCENT.secretKey): SandboxRequest {
  const body = JSON.stringify(params);
  const timestamp = Math.floor(Date.now() / 1000);
  const contentType = "application/json";
  const authorization = tencentAuthorization({ host, service: host.split(".")[0]!, body, contentType, timestamp, secretId: TENCENT.secretId, secretKey });
  const headers: IncomingHttpHeaders = {
    authorization,
    host,
    "content-type": contentType,
    "x-tc-action": action,
    "x-tc-version": version,
    "x-tc-timestamp": String(timestamp),
  };
  if (region) headers["x-tc-region"] = region;
  return { endpoint: "main", method: "POST", path: "/", query: new URLSearchParams(), headers, body };
}

function volc(action: string, params: Json, secretKey = VOLC.secretAccessKey): SandboxRequest {
  const body = JSON.stringify(params);
  const query = { Action: action, Version: "2023-01-01" };
  const xDate = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
  const host = "open.volcengineapi.com";
  const authorization = volcengineAuthorization({
    method: "POST",
    region: "cn-beijing",
    service: "cloudidentity",
    query,
    host,
    body,
    xDate,
    accessKeyId: VOLC.accessKeyId,
    secretKey,
  });
  return {
    endpoint: "main",
    method: "POST",
    path: "/",
    query: new URLSearchParams(query),
    headers: { authorization, host, "x-date": xDate, "x-content-sha256": createHash("sha256").update(body).digest("hex"), "content-type": "application/json" },
    body,
  };
}

const HUAWEI_BASE = "/apiaccess/rest/cc-management/v1/";

function huawei(action: string, params: Json, token: string): SandboxRequest {
  return {
    endpoint: "main",
    method: "POST",
    path: HUAWEI_BASE + action,
    query: new URLSearchParams(),
    headers: { authorization: `Bearer ${token}`, "x-app-key": HUAWEI.appKey, "content-type": "application/json" },
    body: JSON.stringify(params),
  };
}

// ---- The five vendors ---------------------------------------------------------------------------------------

interface Harness {
  sandbox: VendorSandbox;
  /** A signed read (a list call). */
  read(): SandboxRequest;
  /** A signed create of user number `n`. */
  create(n: number): SandboxRequest;
  /** A read the vendor refuses for its authentication (wrong secret, unknown token). */
  forged(): SandboxRequest;
}

interface Case {
  name: string;
  createAction: string;
  readAction: string;
  /** The answers the sandbox must give: HTTP status and the vendor code it records (and sends, where the envelope carries one). */
  throttled: { status: number; code: string };
  outage: { status: number; code: string };
  setup(): Promise<Harness>;
}

const CASES: Case[] = [
  {
    name: "aliyun-ccc",
    createAction: "CreateUser",
    readAction: "ListUsers",
    throttled: { status: 400, code: "Throttling.User" },
    outage: { status: 503, code: "ServiceUnavailable" },
    async setup() {
      return {
        sandbox: new AliyunCccSandbox(ALIYUN, "inst-1", ["role-agent"]),
        read: () => aliyun("ListUsers", { InstanceId: "inst-1", PageNumber: "1", PageSize: "10" }),
        create: (n) =>
          aliyun("CreateUser", {
            InstanceId: "inst-1",
            LoginName: `agent${n}`,
            DisplayName: `Agent ${n}`,
            Email: `agent${n}@example.com`,
            "RoleId.1": "role-agent",
          }),
        forged: () => aliyun("ListUsers", { InstanceId: "inst-1" }, "not-the-secret"),
      };
    },
  },
  {
    name: "tencent-ciam",
    createAction: "CreateUser",
    readAction: "ListUser",
    throttled: { status: 200, code: "RequestLimitExceeded" },
    outage: { status: 200, code: "InternalError" },
    async setup() {
      const host = "ciam.tencentcloudapi.com";
      return {
        sandbox: new CiamSandbox(TENCENT, "us-1"),
        read: () => tc3(host, "2022-03-31", "ListUser", { UserStoreId: "us-1", Pageable: { PageSize: 10, PageNumber: 1 } }, "ap-guangzhou"),
        create: (n) =>
          tc3(
            host,
            "2022-03-31",
            "CreateUser",
            {
              UserStoreId: "us-1",
              UserName: `user${n}`,
              PhoneNumber: `+86-1380013${String(n).padStart(4, "0")}`,
              Email: `user${n}@example.com`,
              Password: "Correct-Horse-9",
            },
            "ap-guangzhou",
          ),
        forged: () => tc3(host, "2022-03-31", "ListUser", { UserStoreId: "us-1", Pageable: { PageSize: 10, PageNumber: 1 } }, "ap-guangzhou", "not-the-secret"),
      };
    },
  },
  {
    name: "tencent-cic",
    createAction: "CreateUser",
    readAction: "ListUsers",
    throttled: { status: 200, code: "RequestLimitExceeded" },
    outage: { status: 200, code: "InternalError" },
    async setup() {
      const host = "organization.tencentcloudapi.com";
      return {
        sandbox: new CicSandbox(TENCENT, "z-1"),
        read: () => tc3(host, "2021-03-31", "ListUsers", { ZoneId: "z-1" }),
        create: (n) => tc3(host, "2021-03-31", "CreateUser", { ZoneId: "z-1", UserName: `user${n}` }),
        forged: () => tc3(host, "2021-03-31", "ListUsers", { ZoneId: "z-1" }, undefined, "not-the-secret"),
      };
    },
  },
  {
    name: "volcengine-cloudidentity",
    createAction: "CreateUser",
    readAction: "ListUsers",
    throttled: { status: 429, code: "FlowLimitExceeded" },
    outage: { status: 503, code: "ServiceUnavailableTemp" },
    async setup() {
      return {
        sandbox: new VolcengineSandbox(VOLC),
        read: () => volc("ListUsers", {}),
        create: (n) => volc("CreateUser", { UserName: `user${n}` }),
        forged: () => volc("ListUsers", {}, "not-the-secret"),
      };
    },
  },
  {
    name: "huawei-aicc",
    createAction: "agentAccount/create",
    readAction: "agentAccount/query",
    throttled: { status: 429, code: "429" },
    outage: { status: 503, code: "503" },
    async setup() {
      const sandbox = new HuaweiAiccSandbox(HUAWEI);
      const answer = await sandbox.handle({
        endpoint: "main",
        method: "POST",
        path: "/apigovernance/api/oauth/tokenByAkSk",
        query: new URLSearchParams(),
        headers: { "content-type": "application/json", "x-token-expire": "600" },
        body: JSON.stringify({ app_key: HUAWEI.appKey, app_secret: HUAWEI.appSecret }),
      });
      const token = (answer.body as { AccessToken: string }).AccessToken;
      // The token exchange is the fixture's, not the test's: forget its recorded call.
      sandbox.calls.splice(0);
      return {
        sandbox,
        read: () => huawei("agentAccount/query", { pageNum: 0, pageSize: 10 }, token),
        create: (n) =>
          huawei(
            "agentAccount/create",
            { userAccount: `agent_${n}`, userName: `Agent ${n}`, password: "Correct-Horse-9", email: `agent${n}@example.com`, agentType: 4, ccRoleId: 2 },
            token,
          ),
        forged: () => huawei("agentAccount/query", { pageNum: 0, pageSize: 10 }, "not-a-token"),
      };
    },
  },
];

// ---- Reading answers as the vendor's client would -----------------------------------------------------------

/** The vendor's error in an answer's body, if it is one: code and message as the envelope carries them. */
function errorIn(name: string, status: number, body: unknown): { code: string; message: string } | undefined {
  const b = (body ?? {}) as Record<string, any>;
  switch (name) {
    case "aliyun-ccc":
      return b.Success === true && b.Code === "OK" && status < 400 ? undefined : { code: String(b.Code), message: String(b.Message) };
    case "tencent-ciam":
    case "tencent-cic":
      return b.Response?.Error
        ? { code: String(b.Response.Error.Code), message: String(b.Response.Error.Message) }
        : status < 400
          ? undefined
          : { code: `HTTP ${status}`, message: "" };
    case "volcengine-cloudidentity":
      return b.ResponseMetadata?.Error
        ? { code: String(b.ResponseMetadata.Error.Code), message: String(b.ResponseMetadata.Error.Message) }
        : status < 400
          ? undefined
          : { code: `HTTP ${status}`, message: "" };
    default:
      // Huawei: resultCode "0" is success; the token exchange answers without one.
      return status < 400 && (b.resultCode === undefined || b.resultCode === "0")
        ? undefined
        : { code: String(b.resultCode), message: String(b.resultMessage) };
  }
}

const errorsOf = new Map<string, MappingFile["errors"]>();
function mappingErrors(name: string): MappingFile["errors"] {
  if (!errorsOf.has(name)) errorsOf.set(name, loadMapping(`mappings/${name}.yaml`).file.errors);
  return errorsOf.get(name)!;
}

/** "success", or the class the vendor's mapping gives the answer: its code first, then its HTTP status. */
function kindOf(name: string, answer: { status: number; body: unknown }): string {
  const error = errorIn(name, answer.status, answer.body);
  if (!error) return "success";
  const errors = mappingErrors(name);
  return classByCode(errors, error.code, error.message) ?? errors.statuses[String(answer.status)] ?? classByStatus(answer.status >= 400 ? answer.status : 400);
}

/** Sends a request over real HTTP to a listening sandbox; answers status, headers and the parsed body. */
function send(base: string, req: SandboxRequest): Promise<{ status: number; headers: IncomingHttpHeaders; body: unknown }> {
  return new Promise((resolve, reject) => {
    const query = req.query.toString();
    const url = new URL(req.path + (query ? `?${query}` : ""), base);
    const outgoing = httpRequest(
      url,
      { method: req.method, agent: false, headers: { ...req.headers, "content-length": String(Buffer.byteLength(req.body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown }),
        );
        res.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(req.body);
  });
}

/** The sandbox with a clock the test moves; the rate statistics start at `start`. */
function withClock(sandbox: VendorSandbox, start: number) {
  let now = start;
  sandbox.useClock(() => now);
  return { at: (t: number, req: SandboxRequest): Promise<SandboxResponse> => ((now = t), sandbox.handle(req)) };
}

describe.each(CASES)("$name", (c) => {
  let h: Harness;
  beforeEach(async () => {
    h = await c.setup();
  });
  afterEach(async () => {
    await h.sandbox.close();
  });

  describe("limitRate", () => {
    it("refuses, with the vendor's throttling answer, a call over the limit in any 1000 ms of accepted calls", async () => {
      const s = h.sandbox;
      const { at } = withClock(s, 10_000);
      s.limitRate(3);
      const kinds: string[] = [];
      const call = async (t: number, req: SandboxRequest) => {
        const answer = await at(t, req);
        kinds.push(kindOf(c.name, answer));
        return answer;
      };
      await call(10_000, h.read());
      await call(10_400, h.read());
      await call(10_800, h.create(1));
      // The fourth call within 1000 ms of the first is refused …
      const refused = await call(10_999, h.read());
      expect(refused.status).toBe(c.throttled.status);
      if (c.name !== "huawei-aicc") expect(errorIn(c.name, refused.status, refused.body)?.code).toBe(c.throttled.code);
      // … and exactly 1000 ms after the first, that one has left the window.
      await call(11_000, h.read());
      // 10_400, 10_800 and 11_000 fill the window: refused, a create too (which changes nothing).
      await call(11_001, h.read());
      const usersBefore = s.users.size;
      await call(11_100, h.create(2));
      expect(s.users.size).toBe(usersBefore);
      await call(11_399, h.read());
      // Refused calls do not count: at 11_400 only 10_800 and 11_000 are accepted within the window.
      await call(11_400, h.read());
      expect(kinds).toEqual(["success", "success", "success", "throttled", "success", "throttled", "throttled", "throttled", "success"]);
      expect(s.throttledCount).toBe(4);
      // Received (accepted or refused) within (10_399, 11_399] or (10_400, 11_400]: seven calls.
      expect(s.maxCallsInAnySecond).toBe(7);
      // Recorded, with the vendor's code as the answer.
      expect(s.calls.map((x) => x.answer)).toEqual(["ok", "ok", "ok", c.throttled.code, "ok", c.throttled.code, c.throttled.code, c.throttled.code, "ok"]);
      expect(s.calls[6]).toMatchObject({ action: c.createAction, answer: c.throttled.code });

      // Lifted: calls in the same instant are all answered.
      s.limitRate(undefined);
      for (let i = 0; i < 5; i++) expect(kindOf(c.name, await at(11_401, h.read()))).toBe("success");
      // 10_800 … 11_400 and the five at 11_401.
      expect(s.maxCallsInAnySecond).toBe(12);
      s.resetRateStats();
      expect([s.maxCallsInAnySecond, s.throttledCount]).toEqual([0, 0]);
      await at(20_000, h.read());
      expect(s.maxCallsInAnySecond).toBe(1);
    });

    it("checks authentication first: a forged request is refused for that, and is not counted as accepted", async () => {
      const s = h.sandbox;
      const { at } = withClock(s, 50_000);
      s.limitRate(1);
      expect(kindOf(c.name, await at(50_000, h.forged()))).toBe("auth");
      expect(kindOf(c.name, await at(50_001, h.read()))).toBe("success");
      expect(kindOf(c.name, await at(50_002, h.forged()))).toBe("auth");
      expect(kindOf(c.name, await at(50_003, h.read()))).toBe("throttled");
      expect(s.throttledCount).toBe(1);
      expect(s.maxCallsInAnySecond).toBe(4);
    });

    it("sends Retry-After on throttling answers only when retryAfterSeconds is set", async () => {
      const s = h.sandbox;
      const base = await s.listen();
      s.useClock(() => 0);
      s.limitRate(0);
      const plain = await send(base, h.read());
      expect([plain.status, kindOf(c.name, plain), plain.headers["retry-after"]]).toEqual([c.throttled.status, "throttled", undefined]);
      s.retryAfterSeconds = 2;
      const told = await send(base, h.read());
      expect([told.status, kindOf(c.name, told), told.headers["retry-after"]]).toEqual([c.throttled.status, "throttled", "2"]);
      expect(s.throttledCount).toBe(2);
      // Not on other answers.
      s.limitRate(undefined);
      const ok = await send(base, h.read());
      expect([kindOf(c.name, ok), ok.headers["retry-after"]]).toEqual(["success", undefined]);
    });
  });

  describe("outage", () => {
    it("answers every authenticated call with the vendor's server-error answer, changing nothing", async () => {
      const s = h.sandbox;
      const base = await s.listen();
      expect(kindOf(c.name, await send(base, h.create(1)))).toBe("success");
      const users = JSON.stringify([...s.users.values()]);
      // A fault waiting for the create is not used up by the outage.
      s.failNext({ action: c.createAction, status: c.throttled.status, code: c.throttled.code, message: "slow down" });
      s.outage(true);
      for (const req of [h.read(), h.create(2), h.read()]) {
        const answer = await send(base, req);
        expect([answer.status, kindOf(c.name, answer)]).toEqual([c.outage.status, "transient"]);
        if (c.name !== "huawei-aicc") expect(errorIn(c.name, answer.status, answer.body)?.code).toBe(c.outage.code);
      }
      expect(JSON.stringify([...s.users.values()])).toBe(users);
      expect(s.calls.slice(-3)).toEqual([
        expect.objectContaining({ action: c.readAction, answer: c.outage.code }),
        expect.objectContaining({ action: c.createAction, answer: c.outage.code }),
        expect.objectContaining({ action: c.readAction, answer: c.outage.code }),
      ]);
      // Authentication still comes first.
      expect(kindOf(c.name, await send(base, h.forged()))).toBe("auth");
      s.outage(false);
      expect(kindOf(c.name, await send(base, h.create(2)))).toBe("throttled");
      expect(kindOf(c.name, await send(base, h.create(2)))).toBe("success");
      expect(s.users.size).toBe(2);
    });
  });

  describe("faults", () => {
    it("drop with commit: the change is applied, then the socket is destroyed without an answer", async () => {
      const s = h.sandbox;
      const base = await s.listen();
      s.failNext({ action: c.createAction, commit: true, drop: true });
      await expect(send(base, h.create(1))).rejects.toMatchObject({ code: "ECONNRESET" });
      expect(s.users.size).toBe(1);
      expect(s.calls.at(-1)).toMatchObject({ action: c.createAction, answer: "dropped" });
      // The client's retry finds the user it never heard about.
      expect(kindOf(c.name, await send(base, h.create(1)))).toBe("conflict");
      expect(kindOf(c.name, await send(base, h.read()))).toBe("success");
    });

    it("drop without commit: the request is lost, nothing changes", async () => {
      const s = h.sandbox;
      const base = await s.listen();
      s.failNext({ action: c.createAction, drop: true });
      await expect(send(base, h.create(1))).rejects.toMatchObject({ code: "ECONNRESET" });
      expect(s.users.size).toBe(0);
      expect(kindOf(c.name, await send(base, h.create(1)))).toBe("success");
      expect(s.users.size).toBe(1);
    });

    it("times: a fault hits that many calls of its action; without a code it is the vendor's server error", async () => {
      const s = h.sandbox;
      s.failNext({ action: c.readAction, times: 2 });
      s.failNext({ action: c.createAction, status: c.throttled.status, code: c.throttled.code, message: "slow down", times: 3 });
      const read = [await s.handle(h.read()), await s.handle(h.read()), await s.handle(h.read())];
      expect(read.map((a) => [a.status, kindOf(c.name, a)])).toEqual([
        [c.outage.status, "transient"],
        [c.outage.status, "transient"],
        [expect.any(Number), "success"],
      ]);
      const created: string[] = [];
      for (let i = 0; i < 4; i++) created.push(kindOf(c.name, await s.handle(h.create(1))));
      expect(created).toEqual(["throttled", "throttled", "throttled", "success"]);
      expect(s.calls.map((x) => x.answer)).toEqual([c.outage.code, c.outage.code, "ok", c.throttled.code, c.throttled.code, c.throttled.code, "ok"]);
      // An unbounded fault lasts until cleared.
      s.failNext({ action: c.readAction, times: Infinity });
      for (let i = 0; i < 5; i++) expect(kindOf(c.name, await s.handle(h.read()))).toBe("transient");
      s.clearFaults();
      expect(kindOf(c.name, await s.handle(h.read()))).toBe("success");
      expect(() => s.failNext({ action: c.readAction, times: 0 })).toThrow(RangeError);
    });
  });
});

/**
 * The sandboxes as an independent judge: each refuses, with the vendor's own code, what the real API
 * would — a signature made with the wrong secret (checked with the vendor's SDK code), a parameter the
 * SDK model does not have, an integer sent as text, a required one left out, and a RAM call that reaches
 * the CCC host.
 */
import { CredentialExchangeError } from "../src/vendors/types";
import { call, outcomeOf, withSandbox } from "./helpers/vendors";

const wrongSecret = (vendor: Record<string, unknown>, key: string) => ({
  ...vendor,
  credentials: { ...(vendor.credentials as Record<string, string>), [key]: "TEST_WRONG" },
});

describe("Tencent (CIC): TC3 checked with tencentcloud-sdk-nodejs-common, requests against the SDK model", () => {
  it.each([
    ["a parameter the model does not have", { ZoneId: "z-1", Colour: "blue" }, "UnknownParameter"],
    ["an integer sent as text", { ZoneId: "z-1", MaxResults: "1" }, "InvalidParameter"],
    ["a required parameter left out", { MaxResults: 1 }, "MissingParameter"],
  ])("%s", (_what, params, code) =>
    withSandbox("tencent-cic", async (_sandbox, vendor) => {
      expect(await outcomeOf(vendor, call({ call: "ListUsers", params }))).toMatchObject({ kind: "invalid", code });
    }),
  );

  it("a request signed with the wrong secret", () =>
    withSandbox("tencent-cic", async (_sandbox, vendor) => {
      expect(await outcomeOf(wrongSecret(vendor, "secretKey"), call({ call: "ListUsers", params: { ZoneId: "z-1", MaxResults: 1 } }))).toMatchObject({
        kind: "auth",
        code: "AuthFailure.SignatureFailure",
      });
      expect(await outcomeOf(vendor, call({ call: "ListUsers", params: { ZoneId: "z-1", MaxResults: 1 } }))).toMatchObject({ kind: "success" });
    }));
});

describe("Alibaba (CCC): RPC signatures checked with @alicloud/openapi-util, one host per product", () => {
  it("a request signed with the wrong secret", () =>
    withSandbox("aliyun-ccc", async (_sandbox, vendor) => {
      const list = call({ call: "ListUsers", params: { InstanceId: "inst-1", PageNumber: 1, PageSize: 1 } });
      expect(await outcomeOf(wrongSecret(vendor, "accessKeySecret"), list)).toMatchObject({ code: "SignatureDoesNotMatch" });
      expect(await outcomeOf({ ...wrongSecret(vendor, "accessKeySecret"), signature: "v3" }, list)).toMatchObject({ code: "SignatureDoesNotMatch" });
      expect(await outcomeOf(vendor, list)).toMatchObject({ kind: "success" });
    }));

  it("a RAM call that reaches the CCC host is refused there, and reaches RAM on its own host", () =>
    withSandbox("aliyun-ccc", async (sandbox, vendor) => {
      const ram = call({ call: "DeleteLoginProfile", api: { host: "ram.aliyuncs.com", version: "2015-05-01" }, params: { UserName: "nobody" } });
      // The transport bug this guards against: every operation sent to the target's one origin.
      const allToCcc = { ...vendor, connectTo: { "ccc.cn-shanghai.aliyuncs.com": sandbox.urls.main, "ram.aliyuncs.com": sandbox.urls.main } };
      expect(await outcomeOf(allToCcc, ram)).toMatchObject({ code: "InvalidVersion" });
      expect(await outcomeOf(vendor, ram)).toMatchObject({ code: "EntityNotExist.User.LoginProfile" });
    }));
});

describe("Volcengine: HMAC-SHA256 checked with @volcengine/openapi's Signer, requests against the Go SDK model", () => {
  it.each([
    ["an integer sent as text", { PageNumber: 1, PageSize: "1" }],
    ["a parameter the model does not have", { PageNumber: 1, Colour: "blue" }],
    ["ResetPassword without the flags its model requires", undefined],
  ])("%s: InvalidParam", (_what, params) =>
    withSandbox("volcengine-cloudidentity", async (_sandbox, vendor) => {
      const built = params ? call({ call: "ListUsers", params }) : call({ call: "ResetPassword", params: { UserId: "u-1", Password: "Correct-Horse-9" } });
      expect(await outcomeOf(vendor, built)).toMatchObject({ code: "InvalidParam" });
    }),
  );

  it("a request signed with the wrong secret", () =>
    withSandbox("volcengine-cloudidentity", async (_sandbox, vendor) => {
      const list = call({ call: "ListUsers", params: { PageNumber: 1, PageSize: 1 } });
      expect(await outcomeOf(wrongSecret(vendor, "secretAccessKey"), list)).toMatchObject({ code: "SignatureDoesNotMatch" });
      expect(await outcomeOf(vendor, list)).toMatchObject({ kind: "success" });
    }));
});

describe("Huawei: the agent APIs' bodies against their parameter tables", () => {
  it.each([
    ["an integer sent as text", { pageNum: "0", pageSize: 10 }],
    ["a parameter the table does not have", { pageNum: 0, pageSize: 10, colour: "blue" }],
  ])("%s: 400", (_what, params) =>
    withSandbox("huawei-aicc", async (_sandbox, vendor) => {
      expect(await outcomeOf(vendor, call({ call: "agentAccount/query", params }))).toMatchObject({ status: 400, kind: "invalid" });
    }),
  );

  it("a token exchange with the wrong secret is refused", () =>
    withSandbox("huawei-aicc", async (_sandbox, vendor) => {
      // The connector's token exchange throws; the provisioning layer classifies that as an auth failure.
      await expect(
        outcomeOf(wrongSecret(vendor, "appSecret"), call({ call: "agentAccount/query", params: { pageNum: 0, pageSize: 1 } })),
      ).rejects.toBeInstanceOf(CredentialExchangeError);
      expect(await outcomeOf(vendor, call({ call: "agentAccount/query", params: { pageNum: 0, pageSize: 1 } }))).toMatchObject({ kind: "success" });
    }));
});

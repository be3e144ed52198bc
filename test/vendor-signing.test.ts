/**
 * Our signers against the vendors' own SDK code, on identical inputs with a frozen clock and nonce. A sandbox
 * we wrote could share our mistakes; these cannot.
 */
import OpenApiUtil from "@alicloud/openapi-util";
import { createHash } from "node:crypto";
import { authorizationV3, signatureV2, signV2, signV3 } from "../src/vendors/signing/aliyun";
import { signTc3 } from "../src/vendors/signing/tc3";
import { signVolcengine } from "../src/vendors/signing/volcengine";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Sign = require("tencentcloud-sdk-nodejs-common/tencentcloud/common/sign").default;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const VolcSigner = require("@volcengine/openapi/lib/base/sign").default;

const DATE = new Date("2026-11-22T08:09:10.123Z");
const NONCE = "3a8f9c3e-5b2d-4c1e-9f7a-0123456789ab";

describe("Tencent TC3-HMAC-SHA256 = tencentcloud-sdk-nodejs-common Sign.sign3", () => {
  it.each([
    [
      "ciam.tencentcloudapi.com",
      "CreateUser",
      { UserStoreId: "d733b658", PhoneNumber: "+86-19877755556", Email: "a@b.com", Password: "@ppServer123", UserName: "张三", UserOrg: ["8bee"] },
    ],
    ["organization.tencentcloudapi.com", "CreateUser", { ZoneId: "z-33w3je", UserName: "Alice", Email: "Alice@example.com", UserStatus: "Enabled" }],
    ["organization.intl.tencentcloudapi.com", "ListUsers", { ZoneId: "z-1", Filter: "alice", MaxResults: 1 }],
  ])("%s %s", (host, action, payload) => {
    const ours = signTc3(
      { host, action, version: "2022-03-31", region: "ap-guangzhou", payload },
      { secretId: "AKIDexample", secretKey: "secretExampleKey" },
      DATE,
    );
    const theirs: string = Sign.sign3({
      method: "POST",
      url: `https://${host}/`,
      payload,
      timestamp: Math.floor(DATE.getTime() / 1000),
      service: host.split(".")[0],
      secretId: "AKIDexample",
      secretKey: "secretExampleKey",
      multipart: false,
      boundary: "",
      headers: { "Content-Type": ours.headers["content-type"] },
    });
    expect(ours.headers.authorization).toBe(theirs);
    expect(ours.headers["x-tc-timestamp"]).toBe(String(Math.floor(DATE.getTime() / 1000)));
  });

  it("signs for the vendor host even when sent elsewhere: the service is 'ciam', never '127'", () => {
    const ours = signTc3(
      { host: "ciam.tencentcloudapi.com", action: "CreateUser", version: "2022-03-31", payload: {} },
      { secretId: "id", secretKey: "k" },
      DATE,
    );
    expect(ours.headers.authorization).toContain("/ciam/tc3_request");
    expect(ours.host).toBe("ciam.tencentcloudapi.com");
  });
});

describe("Alibaba Cloud RPC = @alicloud/openapi-util", () => {
  const params = { InstanceId: "9cfad875-6260", LoginName: "wang.ming", DisplayName: "王明 (CCC)", Email: "a+b@x.com", "RoleId.1": "r1", "RoleId.2": "r*2" };

  it.each(["GET", "POST"] as const)("V2 HMAC-SHA1 signature, %s", (method) => {
    const signed = signV2(
      { host: "ccc.cn-shanghai.aliyuncs.com", action: "CreateUser", version: "2017-07-05", params, method },
      { accessKeyId: "LTAIexample", accessKeySecret: "secret" },
      DATE,
      NONCE,
    );
    const sent = new URLSearchParams(method === "GET" ? signed.path.slice(2) : signed.body!);
    const all = Object.fromEntries([...sent.entries()].filter(([k]) => k !== "Signature"));
    expect(all).toMatchObject({ ...params, Action: "CreateUser", SignatureNonce: NONCE, Timestamp: "2026-11-22T08:09:10Z", SignatureMethod: "HMAC-SHA1" });
    const theirs = OpenApiUtil.getRPCSignature(all, method, "secret");
    expect(sent.get("Signature")).toBe(theirs);
    expect(signatureV2(method, all, "secret")).toBe(theirs);
  });

  it("V3 ACS3-HMAC-SHA256 authorization", () => {
    const signed = signV3(
      { host: "ccc.cn-shanghai.aliyuncs.com", action: "CreateUser", version: "2017-07-05", params },
      { accessKeyId: "LTAIexample", accessKeySecret: "secret" },
      DATE,
      NONCE,
    );
    const query = Object.fromEntries(new URLSearchParams(signed.path.slice(2)).entries());
    const { authorization, ...headers } = signed.headers;
    const theirs = OpenApiUtil.getAuthorization(
      { method: "POST", pathname: "/", query, headers } as never,
      "ACS3-HMAC-SHA256",
      createHash("sha256").update("").digest("hex"),
      "LTAIexample",
      "secret",
    );
    expect(authorization).toBe(theirs);
    expect(
      authorizationV3("POST", "/", signed.path.slice(2), headers, headers["x-acs-content-sha256"]!, { accessKeyId: "LTAIexample", accessKeySecret: "secret" }),
    ).toBe(theirs);
  });
});

describe("Volcengine HMAC-SHA256 = @volcengine/openapi Signer", () => {
  it.each([
    [{ UserName: "用户名", DisplayName: "l9X1", Email: "d@example.com", Phone: "+9627784204919962" }, "cn-beijing"],
    [{ UserName: "alice" }, "cn-north-1"],
  ])("CreateUser %#", (payload, region) => {
    const host = "open.volcengineapi.com";
    const ours = signVolcengine(
      { host, action: "CreateUser", version: "2023-01-01", region, service: "cloudidentity", payload },
      { accessKeyId: "AKLTexample", secretAccessKey: "c2VjcmV0" },
      DATE,
    );
    const request = {
      method: "POST",
      region,
      pathname: "/",
      params: { Action: "CreateUser", Version: "2023-01-01" },
      headers: { host } as Record<string, string>,
      body: JSON.stringify(payload),
    };
    new VolcSigner(request, "cloudidentity").addAuthorization({ accessKeyId: "AKLTexample", secretKey: "c2VjcmV0" }, DATE);
    expect(ours.headers.authorization).toBe(request.headers.Authorization);
    expect(ours.headers["x-date"]).toBe("20261122T080910Z");
  });
});

/** The five seed vendors as test fixtures: a strict sandbox, the target's vendor config, and what to expect. */
import { configFrom } from "../../src/config/load";
import type { BuiltCall } from "../../src/mapping/compile";
import { mappingAt } from "../../src/provisioning/targets";
import { AliyunCccSandbox } from "../../src/sandbox/aliyun-ccc";
import { HuaweiAiccSandbox } from "../../src/sandbox/huawei-aicc";
import { VendorSandbox, type Json, type SandboxUser } from "../../src/sandbox/sandbox";
import { CiamSandbox } from "../../src/sandbox/tencent-ciam";
import { CicSandbox } from "../../src/sandbox/tencent-cic";
import { VolcengineSandbox } from "../../src/sandbox/volcengine";
import { createConnector } from "../../src/provisioning/connectors";
import { CORE_USER, startTestBridge, type TestBridge } from "./bridge";

export const ENV = {
  TEST_ALIYUN_AK: "LTAI-sandbox",
  TEST_ALIYUN_SECRET: "aliyun-secret",
  TEST_TENCENT_ID: "AKID-sandbox",
  TEST_TENCENT_KEY: "tencent-secret-key",
  TEST_VOLC_AK: "AKLT-sandbox",
  TEST_VOLC_SK: "volc-secret",
  TEST_HUAWEI_KEY: "huawei-app-key",
  TEST_HUAWEI_SECRET: "huawei-app-secret",
  TEST_WRONG: "not-the-secret",
};

export interface VendorFixture {
  name: string;
  sandbox: () => VendorSandbox;
  vendor: (url: string) => Record<string, unknown>;
  createAction: string;
  lookupAction: string;
  /** An error the vendor documents for a bad parameter: status and code. */
  invalid: { status: number; code: string };
  /** The vendor's record of a user that already exists with this SCIM user's unique name. */
  existing: (userName: string) => SandboxUser;
  /** What the vendor must receive for the Okta-shaped test user. */
  expectedCreate: (userName: string) => Json;
  /** The vendor key recorded for a created user, from the sandbox's view. */
  keyOf: (user: SandboxUser) => string;
  /** How SCIM groups reach this vendor: a group the vendor already has (mapped by name), or created by the bridge. */
  groups: { model: "membership" } | { model: "userAttribute"; seed: { id: string; name: string } };
}

/** The sandbox at `url` as the target reaches it: every host it serves (CCC and RAM are two), plain http, CN phones. */
const local = (url: string) => ({ connectTo: VendorSandbox.connectToFor(url), allowInsecureHttp: true, phoneRegion: "CN", deadlineMs: 2000 });

export const VENDORS: VendorFixture[] = [
  {
    name: "aliyun-ccc",
    sandbox: () => new AliyunCccSandbox({ accessKeyId: ENV.TEST_ALIYUN_AK, accessKeySecret: ENV.TEST_ALIYUN_SECRET }, "inst-1", ["role-agent"]),
    vendor: (url) => ({
      mapping: "mappings/aliyun-ccc.yaml",
      credentials: { accessKeyId: "TEST_ALIYUN_AK", accessKeySecret: "TEST_ALIYUN_SECRET" },
      settings: { CCC_INSTANCE_ID: "inst-1", CCC_AGENT_ROLE_ID: "role-agent" },
      ...local(url),
    }),
    createAction: "CreateUser",
    lookupAction: "FindUsers",
    invalid: { status: 400, code: "InvalidParameter" },
    existing: (userName) => ({
      id: `ccc-existing-${userName}`,
      LoginName: userName.replace(/[^A-Za-z0-9._-]/g, "_"),
      DisplayName: "Old",
      Email: "old@example.com",
      RoleId: ["role-agent"],
    }),
    expectedCreate: (userName) => ({
      InstanceId: "inst-1",
      LoginName: userName.replace("@", "_"),
      DisplayName: "Ada Lovelace",
      Email: userName,
      Phone: "+8613800138000",
      RoleId: ["role-agent"],
    }),
    keyOf: (u) => u.id,
    groups: { model: "userAttribute", seed: { id: "skill-group-1", name: "Tier 1" } },
  },
  {
    name: "tencent-ciam",
    sandbox: () => new CiamSandbox({ secretId: ENV.TEST_TENCENT_ID, secretKey: ENV.TEST_TENCENT_KEY }, "us-1"),
    vendor: (url) => ({
      mapping: "mappings/tencent-ciam.yaml",
      credentials: { secretId: "TEST_TENCENT_ID", secretKey: "TEST_TENCENT_KEY" },
      settings: { CIAM_USER_STORE_ID: "us-1" },
      ...local(url),
    }),
    createAction: "CreateUser",
    lookupAction: "ListUser",
    invalid: { status: 200, code: "FailedOperation.AttributeFormatError" },
    existing: (userName) => ({ id: `ciam-existing-${userName}`, UserName: userName, Email: "old@example.com", PhoneNumber: "+86-13900000000" }),
    expectedCreate: (userName) => ({
      UserStoreId: "us-1",
      UserName: userName,
      PhoneNumber: "+86-13800138000",
      Email: userName,
      Nickname: "Ada Lovelace",
      IndexedAttribute1: "okta-00u1",
    }),
    keyOf: (u) => u.id,
    groups: { model: "userAttribute", seed: { id: "user-group-1", name: "Tier 1" } },
  },
  {
    name: "huawei-aicc",
    sandbox: () => new HuaweiAiccSandbox({ appKey: ENV.TEST_HUAWEI_KEY, appSecret: ENV.TEST_HUAWEI_SECRET }),
    vendor: (url) => ({ mapping: "mappings/huawei-aicc.yaml", credentials: { appKey: "TEST_HUAWEI_KEY", appSecret: "TEST_HUAWEI_SECRET" }, ...local(url) }),
    createAction: "agentAccount/create",
    lookupAction: "agentAccount/query",
    invalid: { status: 400, code: "1" },
    existing: (userName) => ({
      id: userName.replace(/[^A-Za-z0-9_-]/g, "_"),
      userAccount: userName.replace(/[^A-Za-z0-9_-]/g, "_"),
      userName: "Old",
      email: "old@example.com",
      agentType: 4,
      ccRoleId: 2,
      workNo: 7,
    }),
    expectedCreate: (userName) => ({
      userAccount: userName.replace(/[^A-Za-z0-9_-]/g, "_"),
      userName: "Ada Lovelace",
      email: userName,
      agentType: 4,
      ccRoleId: 2,
      phone: "+8613800138000",
    }),
    keyOf: (u) => u.id,
    groups: { model: "userAttribute", seed: { id: "17", name: "Tier 1" } },
  },
  {
    name: "volcengine-cloudidentity",
    sandbox: () => new VolcengineSandbox({ accessKeyId: ENV.TEST_VOLC_AK, secretAccessKey: ENV.TEST_VOLC_SK }),
    vendor: (url) => ({
      mapping: "mappings/volcengine-cloudidentity.yaml",
      credentials: { accessKeyId: "TEST_VOLC_AK", secretAccessKey: "TEST_VOLC_SK" },
      ...local(url),
    }),
    createAction: "CreateUser",
    lookupAction: "ListUsers",
    invalid: { status: 400, code: "ParamIncludeSensitiveWord" },
    existing: (userName) => ({ id: `volc-existing-${userName}`, UserName: userName, Email: "old@example.com", Source: "Manual" }),
    expectedCreate: (userName) => ({ UserName: userName, DisplayName: "Ada Lovelace", Description: "okta-00u1", Email: userName, Phone: "+8613800138000" }),
    keyOf: (u) => u.id,
    groups: { model: "membership" },
  },
  {
    name: "tencent-cic",
    sandbox: () => new CicSandbox({ secretId: ENV.TEST_TENCENT_ID, secretKey: ENV.TEST_TENCENT_KEY }, "z-1"),
    vendor: (url) => ({
      mapping: "mappings/tencent-cic.yaml",
      credentials: { secretId: "TEST_TENCENT_ID", secretKey: "TEST_TENCENT_KEY" },
      settings: { CIC_ZONE_ID: "z-1" },
      ...local(url),
    }),
    createAction: "CreateUser",
    lookupAction: "ListUsers",
    invalid: { status: 200, code: "InvalidParameter.UsernameFormatError" },
    existing: (userName) => ({ id: `u-existing-${userName}`, UserName: userName, Email: "old@example.com", UserStatus: "Enabled", UserType: "Manual" }),
    expectedCreate: (userName) => ({
      ZoneId: "z-1",
      UserName: userName,
      FirstName: "Lovelace",
      LastName: "Ada",
      DisplayName: "Ada Lovelace",
      Description: "okta-00u1",
      Email: userName,
      UserStatus: "Enabled",
      UserType: "Manual",
      NeedResetPassword: true,
    }),
    keyOf: (u) => u.id,
    groups: { model: "membership" },
  },
];

/**
 * Runs `run` against a fresh sandbox of `fixture` and a bridge with one target "t" on it (its vendor config
 * with `extra` on top), the outbox polling often; closes both after.
 */
export async function withSandboxBridge(
  fixture: VendorFixture,
  extra: Record<string, unknown>,
  run: (bridge: TestBridge, sandbox: VendorSandbox, vendor: Record<string, unknown>) => Promise<void>,
): Promise<void> {
  const sandbox = fixture.sandbox();
  const vendor = { ...fixture.vendor(await sandbox.listen()), ...extra };
  const bridge = await startTestBridge([{ name: "t", vendor }], { env: ENV, outbox: { pollMs: 20 } });
  try {
    await run(bridge, sandbox, vendor);
  } finally {
    await bridge.close();
    await sandbox.close();
  }
}

/** A user as an IdP sends it, with a CN mobile number every vendor mapping accepts. */
export const person = (extra: Record<string, unknown> = {}) => ({
  schemas: [CORE_USER],
  userName: "kay@example.com",
  externalId: "idp-kay",
  name: { givenName: "Kay", familyName: "Sparck" },
  displayName: "Kay Sparck",
  emails: [{ primary: true, value: "kay@example.com", type: "work" }],
  phoneNumbers: [{ value: "13800138000", type: "mobile" }],
  active: true,
  ...extra,
});

/** A vendor call as a mapping would build it, by hand: the action and its parameters. */
export const call = (c: Partial<BuiltCall> & Pick<BuiltCall, "call" | "params">): BuiltCall => ({
  operation: "check",
  identity: [],
  secretParams: [],
  ...c,
});

/** Runs `run` against a fresh, listening sandbox of the named fixture and its target's vendor config; closes it after. */
export async function withSandbox<T extends VendorSandbox = VendorSandbox>(
  name: string,
  run: (sandbox: T, vendor: Record<string, unknown>) => Promise<void>,
): Promise<void> {
  const fixture = VENDORS.find((v) => v.name === name)!;
  const sandbox = fixture.sandbox() as T;
  const vendor = fixture.vendor(await sandbox.listen());
  try {
    await run(sandbox, vendor);
  } finally {
    await sandbox.close();
  }
}

/** Sends one call, signed as the target's connector signs it, and answers the connector's outcome. */
export async function outcomeOf(vendor: Record<string, unknown>, built: BuiltCall, env: NodeJS.ProcessEnv = ENV) {
  const connection = configFrom({ targets: [{ name: "t", tokens: [{ sha256: "e".repeat(64) }], vendor }] }).targets[0]!.vendor!;
  const connector = createConnector(mappingAt(connection.mapping), connection, env);
  try {
    return await connector.invoke(built);
  } finally {
    await connector.close();
  }
}

/**
 * The demo start (`npm start` without a config): the five sandbox vendors run in-process on ports the OS
 * picks, with credentials made up for this run, and one demo target provisions into each.
 */
import { randomBytes } from "node:crypto";
import { AliyunCccSandbox } from "./aliyun-ccc";
import { HuaweiAiccSandbox } from "./huawei-aicc";
import type { VendorSandbox } from "./sandbox";
import { CiamSandbox } from "./tencent-ciam";
import { CicSandbox } from "./tencent-cic";
import { VolcengineSandbox } from "./volcengine";

export interface DemoVendors {
  /** Vendor config for each demo target, by mapping name. */
  vendors: Record<string, Record<string, unknown>>;
  /** The made-up credentials, as environment variables the vendor configs name. */
  env: Record<string, string>;
  close(): Promise<void>;
}

const secret = () => randomBytes(18).toString("base64url");

export async function startDemoVendors(): Promise<DemoVendors> {
  const env = {
    DEMO_ALIYUN_AK: `LTAI${secret()}`,
    DEMO_ALIYUN_SECRET: secret(),
    DEMO_TENCENT_ID: `AKID${secret()}`,
    DEMO_TENCENT_KEY: secret(),
    DEMO_VOLC_AK: `AKLT${secret()}`,
    DEMO_VOLC_SK: secret(),
    DEMO_HUAWEI_KEY: secret(),
    DEMO_HUAWEI_SECRET: secret(),
  };
  const tencent = { secretId: env.DEMO_TENCENT_ID, secretKey: env.DEMO_TENCENT_KEY };
  const sandboxes: [string, VendorSandbox, Record<string, unknown>][] = [
    [
      "aliyun-ccc",
      new AliyunCccSandbox({ accessKeyId: env.DEMO_ALIYUN_AK, accessKeySecret: env.DEMO_ALIYUN_SECRET }, "demo-instance", ["demo-role"]),
      {
        credentials: { accessKeyId: "DEMO_ALIYUN_AK", accessKeySecret: "DEMO_ALIYUN_SECRET" },
        settings: { CCC_INSTANCE_ID: "demo-instance", CCC_AGENT_ROLE_ID: "demo-role" },
      },
    ],
    [
      "tencent-ciam",
      new CiamSandbox(tencent, "demo-user-store"),
      { credentials: { secretId: "DEMO_TENCENT_ID", secretKey: "DEMO_TENCENT_KEY" }, settings: { CIAM_USER_STORE_ID: "demo-user-store" } },
    ],
    [
      "huawei-aicc",
      new HuaweiAiccSandbox({ appKey: env.DEMO_HUAWEI_KEY, appSecret: env.DEMO_HUAWEI_SECRET }),
      { credentials: { appKey: "DEMO_HUAWEI_KEY", appSecret: "DEMO_HUAWEI_SECRET" } },
    ],
    [
      "volcengine-cloudidentity",
      new VolcengineSandbox({ accessKeyId: env.DEMO_VOLC_AK, secretAccessKey: env.DEMO_VOLC_SK }),
      { credentials: { accessKeyId: "DEMO_VOLC_AK", secretAccessKey: "DEMO_VOLC_SK" } },
    ],
    [
      "tencent-cic",
      new CicSandbox(tencent, "z-demo"),
      { credentials: { secretId: "DEMO_TENCENT_ID", secretKey: "DEMO_TENCENT_KEY" }, settings: { CIC_ZONE_ID: "z-demo" } },
    ],
  ];
  const vendors: Record<string, Record<string, unknown>> = {};
  for (const [name, sandbox, config] of sandboxes) {
    await sandbox.listen();
    vendors[name] = { mapping: `mappings/${name}.yaml`, connectTo: sandbox.connectTo(), allowInsecureHttp: true, phoneRegion: "CN", ...config };
  }
  return {
    vendors,
    env,
    async close() {
      await Promise.all(sandboxes.map(([, s]) => s.close()));
    },
  };
}

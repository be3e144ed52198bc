/**
 * The bridge and the CIC sandbox as processes of their own (see bench/processes.ts), with the test fixtures'
 * credentials: the bridge compiled once per test file, beside the sources' node_modules.
 */
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import * as processes from "../../bench/processes";
import { ENV } from "./vendors";

export { inPool, scimRequest as scim, stopChild, type VendorProcess } from "../../bench/processes";

const REPO = resolve(__dirname, "../..");
/** Where the compiled bridge finds the sources' packages, and the mappings. */
const RUN = { cwd: REPO, env: { ...ENV, NODE_PATH: join(REPO, "node_modules") } };

/** Compiles the bridge into `dir/dist`; answers that folder. */
export function compileBridge(dir: string): string {
  const dist = join(dir, "dist");
  execFileSync(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", join(REPO, "tsconfig.build.json"), "--outDir", dist], { cwd: REPO });
  return dist;
}

export function startVendorProcess(dist: string, limit?: number): Promise<processes.VendorProcess> {
  return processes.startVendorProcess(dist, { id: ENV.TEST_TENCENT_ID, key: ENV.TEST_TENCENT_KEY }, limit, RUN);
}

export function startBridgeProcess(dist: string, file: string, config: Record<string, unknown>): ReturnType<typeof processes.startBridgeProcess> {
  return processes.startBridgeProcess(dist, file, config, RUN);
}

/** The CIC target on the sandbox at `url`, with `extra` on top. */
export function cicVendor(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return processes.cicVendor(url, { secretId: "TEST_TENCENT_ID", secretKey: "TEST_TENCENT_KEY" }, extra);
}

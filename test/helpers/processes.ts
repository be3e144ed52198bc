/**
 * The bridge and a sandbox vendor as processes of their own, as they run in production: the bridge compiled
 * once per test file and started with `serve`, the vendor with `sandbox/standalone.js` (its clock, its
 * record of when each call arrived, and its faults on its own event loop, told what to do over a control port).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Fault, RecordedCall } from "../../src/sandbox/sandbox";
import { ENV } from "./vendors";

const REPO = resolve(__dirname, "../..");

/** Compiles the bridge into `dir/dist` (run beside the sources' node_modules); answers that folder. */
export function compileBridge(dir: string): string {
  const dist = join(dir, "dist");
  execFileSync(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", join(REPO, "tsconfig.build.json"), "--outDir", dist], { cwd: REPO });
  return dist;
}

/** Starts a compiled entry point; answers once its standard output matches `ready` (with the match). */
function startChild(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: { ...process.env, ...env, NODE_PATH: join(REPO, "node_modules") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolveStart, reject) => {
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (!match) return;
      child.stdout!.off("data", onData);
      child.stdout!.resume(); // what it prints later (its log) is not kept
      resolveStart({ child, match });
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${args[0]} exited (${code}) before it was ready: ${out}`)));
  });
}

/** SIGTERM, and the exit waited for. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

export interface VendorProcess {
  child: ChildProcess;
  url: string;
  /** Every call answers the vendor's server error (and changes nothing) while on. */
  outage(on: boolean): Promise<void>;
  failNext(fault: Fault): Promise<void>;
  /** The calls received, in order, each with when it arrived (wall clock). */
  calls(): Promise<RecordedCall[]>;
  users(): Promise<{ id: string; name: string; status: unknown }[]>;
  stats(): Promise<{ throttled: number; maxCallsInAnySecond: number }>;
}

/** The Tencent CIC sandbox in a process of its own, refusing more than `limit` calls a second if given. */
export async function startVendorProcess(dist: string, limit?: number): Promise<VendorProcess> {
  const { child, match } = await startChild(
    [join(dist, "src/sandbox/standalone.js"), "--vendor", "tencent-cic", ...(limit ? ["--limit", String(limit)] : [])],
    { SANDBOX_SECRET_ID: ENV.TEST_TENCENT_ID, SANDBOX_SECRET_KEY: ENV.TEST_TENCENT_KEY },
    /^(\{.*\})\n/,
  );
  const { url, control } = JSON.parse(match[1]!) as { url: string; control: string };
  const get = async <T>(path: string) => (await (await fetch(`${control}${path}`)).json()) as T;
  const post = async (path: string, body: unknown) => void (await fetch(`${control}${path}`, { method: "POST", body: JSON.stringify(body) })).arrayBuffer();
  return {
    child,
    url,
    outage: (on) => post("/outage", { on }),
    failNext: (fault) => post("/fail-next", fault),
    calls: () => get("/calls"),
    users: () => get("/users"),
    stats: () => get("/stats"),
  };
}

/** A bridge process serving `config` (written to `file`); answers its SCIM base URL. */
export async function startBridgeProcess(dist: string, file: string, config: Record<string, unknown>): Promise<{ child: ChildProcess; base: string }> {
  writeFileSync(file, JSON.stringify(config));
  const { child, match } = await startChild([join(dist, "src/cli.js"), "serve", "--config", file], ENV, /SCIM base URL: (\S+)/);
  return { child, base: match[1]! };
}

/** The CIC target of a bridge process on the sandbox at `url`, with `extra` on top. */
export function cicVendor(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mapping: "mappings/tencent-cic.yaml",
    credentials: { secretId: "TEST_TENCENT_ID", secretKey: "TEST_TENCENT_KEY" },
    settings: { CIC_ZONE_ID: "z-1" },
    connectTo: url,
    allowInsecureHttp: true,
    ...extra,
  };
}

/** An IdP's request to a bridge process: its status and body (status 0: no answer). */
export async function scim(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } catch {
    return { status: 0, body: {} };
  }
}

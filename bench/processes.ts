/**
 * The bridge and a sandbox vendor as processes of their own, as they run in production (benchmarks, and
 * the tests that need real processes): the bridge started with `serve`, the vendor with
 * `sandbox/standalone.js` — its clock, its record of when each call arrived, and its faults on its own
 * event loop, told what to do over its control port. `dist` is the compiled project's folder.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Fault, RecordedCall } from "../src/sandbox/sandbox";

/** Starts a compiled entry point; answers once its standard output matches `ready` (with the match). */
export function startChild(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  options: { cwd?: string } = {},
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
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

/** SIGTERM (a clean shutdown: work in flight finishes first), or SIGKILL; and the exit waited for. */
export async function stopChild(child: ChildProcess, signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
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
  stats(): Promise<{ calls: number; throttled: number; maxCallsInAnySecond: number; users: string[] }>;
}

/** The Tencent CIC sandbox in a process of its own, signed for `secret`, refusing more than `limit` calls a second if given. */
export async function startVendorProcess(
  dist: string,
  secret: { id: string; key: string },
  limit?: number,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<VendorProcess> {
  const { child, match } = await startChild(
    [join(dist, "src/sandbox/standalone.js"), "--vendor", "tencent-cic", ...(limit ? ["--limit", String(limit)] : [])],
    { ...options.env, SANDBOX_SECRET_ID: secret.id, SANDBOX_SECRET_KEY: secret.key },
    /^(\{.*\})\n/,
    options,
  );
  const { url, control } = JSON.parse(match[1]!) as { url: string; control: string };
  const get = async <T>(path: string) => (await (await fetch(`${control}${path}`)).json()) as T;
  const post = async (path: string, body: unknown) =>
    void (await (await fetch(`${control}${path}`, { method: "POST", body: JSON.stringify(body) })).arrayBuffer());
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

/** A bridge process serving `config` (written to `file` as JSON); answers its SCIM base URL. */
export async function startBridgeProcess(
  dist: string,
  file: string,
  config: Record<string, unknown>,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ child: ChildProcess; base: string }> {
  writeFileSync(file, JSON.stringify(config));
  const { child, match } = await startChild([join(dist, "src/cli.js"), "serve", "--config", file], options.env ?? {}, /SCIM base URL: (\S+)/, options);
  return { child, base: match[1]! };
}

/** A CIC target's vendor settings for the sandbox at `url`: credentials from the environment variables named. */
export function cicVendor(url: string, credentials: { secretId: string; secretKey: string }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { mapping: "mappings/tencent-cic.yaml", credentials, settings: { CIC_ZONE_ID: "z-1" }, connectTo: url, allowInsecureHttp: true, ...extra };
}

/** An IdP's request: its status and body (status 0: no answer). */
export async function scimRequest(
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

/** Runs `jobs`, `concurrency` at a time; answers each one's result, in order. */
export async function inPool<T, R>(jobs: T[], concurrency: number, run: (job: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await run(jobs[i]!, i);
      }
    }),
  );
  return results;
}

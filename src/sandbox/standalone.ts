/**
 * One sandbox vendor in a process of its own, for tests and benchmarks that run bridges as separate
 * processes: the vendor then sees calls on its own event loop, as a real vendor's gateway would, and its
 * rate accounting is not skewed by the load generator's work.
 *
 *   node dist/src/sandbox/standalone.js --vendor tencent-cic [--limit 20]
 *
 * Credentials come from SANDBOX_SECRET_ID / SANDBOX_SECRET_KEY; settings are the test fixtures' (zone z-1).
 * Prints one JSON line: {"url": vendor URL, "control": control URL}. The control listener (a port of its
 * own, loopback only) answers GET /stats (calls, throttled, the most calls in any second, users' names)
 * and POST /reset-stats; GET /calls?from=N (the calls it received from the Nth on, each with when it
 * arrived) and GET /users (id, name and status of each user); POST /outage with {"on": true|false}, and
 * POST /fail-next with a fault (see Fault) — the vendor's own faults, for tests of how the bridge rides them.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import type { IncomingMessage } from "node:http";
import type { Fault, VendorSandbox } from "./sandbox";
import { CicSandbox } from "./tencent-cic";

function sandboxOf(vendor: string, env: NodeJS.ProcessEnv): VendorSandbox {
  const credentials = { secretId: env.SANDBOX_SECRET_ID ?? "", secretKey: env.SANDBOX_SECRET_KEY ?? "" };
  if (vendor === "tencent-cic") return new CicSandbox(credentials, "z-1");
  throw new Error(`no standalone sandbox for '${vendor}' (tencent-cic is the one benchmarks use)`);
}

async function bodyOf(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>) : {};
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { vendor: { type: "string", default: "tencent-cic" }, limit: { type: "string" } } });
  const sandbox = sandboxOf(values.vendor!, process.env);
  if (values.limit !== undefined) sandbox.limitRate(Number(values.limit));
  const url = await sandbox.listen();
  const control = createServer(async (req, res) => {
    const send = (body: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    const url = new URL(req.url ?? "/", "http://control");
    if (req.method === "GET" && url.pathname === "/calls") return send(sandbox.calls.slice(Number(url.searchParams.get("from") ?? 0)));
    if (req.method === "GET" && url.pathname === "/users")
      return send([...sandbox.users.values()].map((u) => ({ id: u.id, name: String(u.UserName), status: u.UserStatus })));
    if (req.method === "POST" && url.pathname === "/outage") return (sandbox.outage((await bodyOf(req)).on === true), send({}));
    if (req.method === "POST" && url.pathname === "/fail-next") return (sandbox.failNext((await bodyOf(req)) as unknown as Fault), send({}));
    if (req.method === "GET" && req.url === "/stats")
      return send({
        calls: sandbox.calls.length,
        throttled: sandbox.throttledCount,
        maxCallsInAnySecond: sandbox.maxCallsInAnySecond,
        users: [...sandbox.users.values()].map((u) => String(u.UserName)),
      });
    if (req.method === "POST" && req.url === "/reset-stats") return (sandbox.resetRateStats(), send({}));
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  // The one line a test or benchmark reads to find this sandbox (its protocol, not a log).
  process.stdout.write(`${JSON.stringify({ url, control: `http://127.0.0.1:${(control.address() as AddressInfo).port}` })}\n`);
  process.once("SIGTERM", () => void sandbox.close().then(() => process.exit(0)));
}

void main();

/**
 * Strict vendor simulators for tests, the demo start and benchmarks. Each checks the vendor's signature (or
 * token), required parameters, documented constraints and uniqueness, and answers with the vendor's own
 * success and error envelopes and codes. Calls are recorded, users can be seeded, faults injected.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type Json = Record<string, unknown>;

export interface SandboxRequest {
  /** Which of the sandbox's hosts received it: "main", or one of `otherHosts` (a second product, like RAM beside CCC). */
  endpoint?: string;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SandboxResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface RecordedCall {
  action: string;
  params: Json;
  /** The outcome the sandbox answered: "ok" or the error code. */
  answer: string;
}

export interface Fault {
  action: string;
  status: number;
  code: string;
  message: string;
  /** Apply the change anyway before failing (a create committed after the client gave up). */
  commit?: boolean;
  /** Hold the answer this long (a vendor slower than the bridge's deadline). */
  delayMs?: number;
}

/** A vendor error, thrown by operation handlers and turned into the vendor's envelope. */
export class VendorError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SandboxUser extends Json {
  id: string;
}

export interface SandboxGroup {
  id: string;
  name: string;
  members: Set<string>;
}

export abstract class VendorSandbox {
  readonly calls: RecordedCall[] = [];
  readonly users = new Map<string, SandboxUser>();
  /** The vendor's groups (CIC, Volcengine), user groups (CIAM), skill groups (CCC) or skill queues (Huawei). */
  readonly groups = new Map<string, SandboxGroup>();
  private readonly faults: Fault[] = [];
  private readonly servers: Server[] = [];
  /** Where each of the sandbox's hosts listens, once listening: "main" and each of `otherHosts`. */
  readonly urls: Record<string, string> = {};
  /** Further products this vendor's calls go to, each on a port (a host) of its own. */
  protected readonly otherHosts: string[] = [];

  /** The vendor host requests must be signed for. */
  abstract readonly host: string;

  /** Checks authentication and routes to an operation; returns the action name and the answer. */
  protected abstract dispatch(req: SandboxRequest): { action: string; params: Json; run: () => Json };
  protected abstract success(action: string, result: Json): SandboxResponse;
  protected abstract failure(action: string, error: VendorError): SandboxResponse;

  /** Puts a user in the vendor's directory directly (one that existed before the bridge). */
  seedUser(user: SandboxUser): SandboxUser {
    this.users.set(user.id, user);
    return user;
  }

  /** A group that exists at the vendor already. */
  seedGroup(id: string, name: string): SandboxGroup {
    const group = { id, name, members: new Set<string>() };
    this.groups.set(id, group);
    return group;
  }

  /** Checks that every id names a known group; `fail` makes the vendor's error. */
  protected knownGroups(ids: unknown, fail: (id: string) => VendorError): void {
    for (const id of Array.isArray(ids) ? ids : ids === undefined ? [] : [ids]) if (!this.groups.has(String(id))) throw fail(String(id));
  }

  /** Makes the next call of `action` fail with the vendor's code. */
  failNext(fault: Fault): void {
    this.faults.push(fault);
  }

  callsOf(action: string): RecordedCall[] {
    return this.calls.filter((c) => c.action === action);
  }

  protected requestId(): string {
    return randomUUID();
  }

  async handle(req: SandboxRequest): Promise<SandboxResponse> {
    let action = "?";
    let params: Json = {};
    try {
      const routed = this.dispatch(req);
      action = routed.action;
      params = routed.params;
      const fault = this.faults.findIndex((f) => f.action === action);
      if (fault >= 0) {
        const [f] = this.faults.splice(fault, 1);
        if (f!.commit) routed.run();
        // unref: a held answer must not keep a finished test run or a stopping demo alive
        if (f!.delayMs) await new Promise((r) => setTimeout(r, f!.delayMs).unref());
        throw new VendorError(f!.status, f!.code, f!.message);
      }
      const result = routed.run();
      this.calls.push({ action, params, answer: "ok" });
      return this.success(action, result);
    } catch (error) {
      if (!(error instanceof VendorError)) throw error;
      this.calls.push({ action, params, answer: error.code });
      return this.failure(action, error);
    }
  }

  /** The sandboxes listening in this process, by main URL (so a test fixture holding only the URL finds the rest). */
  private static readonly listening = new Map<string, VendorSandbox>();

  /** A target's vendor `connectTo` for the sandbox listening at `url` (its main URL, or a map when it has more hosts). */
  static connectToFor(url: string): string | Record<string, string> {
    return VendorSandbox.listening.get(url)?.connectTo() ?? url;
  }

  /** The vendor `connectTo` for this sandbox: its URL, or one URL per host where it serves several products. */
  connectTo(): string | Record<string, string> {
    return this.urls.main!;
  }

  /** Starts the sandbox's hosts on ports the OS picks; answers the main host's URL (the others are in `urls`). */
  async listen(): Promise<string> {
    for (const endpoint of ["main", ...this.otherHosts]) {
      const server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (c: Buffer) => chunks.push(c));
        request.on("end", () => {
          const url = new URL(request.url ?? "/", "http://sandbox");
          this.handle({ endpoint, method: request.method ?? "GET", path: url.pathname, query: url.searchParams, headers: request.headers, body: Buffer.concat(chunks).toString("utf8") })
            .then((answer) => {
              response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
              response.end(JSON.stringify(answer.body));
            })
            .catch((error: unknown) => {
              response.writeHead(500, { "content-type": "application/json" });
              response.end(JSON.stringify({ sandboxError: String(error) }));
            });
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      this.servers.push(server);
      this.urls[endpoint] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
    VendorSandbox.listening.set(this.urls.main!, this);
    return this.urls.main!;
  }

  async close(): Promise<void> {
    if (this.urls.main) VendorSandbox.listening.delete(this.urls.main);
    for (const server of this.servers.splice(0)) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

/** A request parameter's JSON type, as an SDK model declares it. */
export type ParamType = "string" | "integer" | "boolean" | "array" | "object";

/** An action's request model: every parameter it knows, with its type, and which are required. */
export interface ActionModel {
  params: Record<string, ParamType>;
  required: string[];
}

function typeOf(value: unknown): ParamType | "other" {
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "other";
  if (Array.isArray(value)) return "array";
  return value && typeof value === "object" ? "object" : "other";
}

/**
 * Checks a request against its action's model, as the vendor's gateway does: a parameter the model does
 * not have, one of the wrong JSON type (an integer sent as a string), or a required one missing is refused
 * with the code `fail` makes for it.
 */
export function checkModel(model: ActionModel, params: Json, fail: (problem: "unknown" | "type" | "missing", name: string, expected?: ParamType) => VendorError): void {
  for (const [name, value] of Object.entries(params)) {
    const expected = model.params[name];
    if (!expected) throw fail("unknown", name);
    if (typeOf(value) !== expected) throw fail("type", name, expected);
  }
  for (const name of model.required) if (params[name] === undefined) throw fail("missing", name);
}

/** Shared checks for parameters, as the vendors document them. */
export function requireParams(params: Json, names: string[], error: (name: string) => VendorError): void {
  for (const name of names) {
    const v = params[name];
    if (v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0)) throw error(name);
  }
}

export function lengthOf(value: unknown): number {
  return [...String(value ?? "")].length;
}

export function bytesOf(value: unknown): number {
  return Buffer.byteLength(String(value ?? ""), "utf8");
}

export function header(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] ?? "" : v ?? "";
}

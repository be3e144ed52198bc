/**
 * Strict vendor simulators for tests, the demo start and benchmarks. Each checks the vendor's signature (or
 * token), required parameters, documented constraints and uniqueness, and answers with the vendor's own
 * success and error envelopes and codes. Calls are recorded, users can be seeded, faults injected.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import type { Json } from "../lib/json";
import { ownEntry } from "../lib/own-entry";

export type { Json };

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
  /** No answer at all: the server destroys the client's socket (`status` and `body` mean nothing then). */
  drop?: boolean;
}

export interface RecordedCall {
  action: string;
  params: Json;
  /** The outcome the sandbox answered: "ok", the error code (throttled and outage calls too), or "dropped" (no answer). */
  answer: string;
  /** When the call arrived (wall clock, ms since the epoch: comparable across processes on one machine). */
  receivedAt: number;
}

export interface Fault {
  action: string;
  /**
   * The error answered. Left out (all three), the vendor's own server-error answer (the one `outage` gives);
   * with `drop` nothing is answered, so they may be left out.
   */
  status?: number;
  code?: string;
  message?: string;
  /** Apply the change anyway before failing (a create committed after the client gave up). */
  commit?: boolean;
  /** Hold the answer this long (a vendor slower than the bridge's deadline). With `commit`: commit-then-hang. */
  delayMs?: number;
  /**
   * Answer nothing: the client's socket is destroyed (after `delayMs`, if given). With `commit`: the change is
   * applied and then the connection drops (commit-then-drop). Without: the request is lost, nothing changes.
   */
  drop?: boolean;
  /** How many of the action's calls this fault hits, one after another (default 1; Infinity until `clearFaults`). */
  times?: number;
}

/**
 * Timestamps (ms) of the last `span` ms, oldest first: memory O(entries in the window), amortised O(1) a call.
 * Two timestamps share a window when they are less than `span` apart.
 */
class SlidingWindow {
  private times: number[] = [];
  private head = 0;

  constructor(private readonly span: number) {}

  /** Forgets what lies `span` or more before `now`; answers how many entries remain. */
  countAt(now: number): number {
    while (this.head < this.times.length && this.times[this.head]! <= now - this.span) this.head++;
    if (this.head > 64 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  add(now: number): void {
    this.times.push(now);
  }

  clear(): void {
    this.times = [];
    this.head = 0;
  }
}

const WINDOW_MS = 1000;

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
  /** The vendor's further fields of the group (a display name, a join type), as its answers show them. */
  fields?: Json;
}

export abstract class VendorSandbox {
  readonly calls: RecordedCall[] = [];
  readonly users = new Map<string, SandboxUser>();
  /** The vendor's groups (CIC, Volcengine), user groups (CIAM), skill groups (CCC) or skill queues (Huawei). */
  readonly groups = new Map<string, SandboxGroup>();
  private readonly faults: { fault: Fault; left: number }[] = [];
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

  /** Makes the next call of `action` (the next `fault.times` calls) fail with the vendor's code, hang or drop. */
  failNext(fault: Fault): void {
    const times = fault.times ?? 1;
    if (!(times >= 1)) throw new RangeError(`Fault.times must be at least 1, not ${times}`);
    this.faults.push({ fault: { ...fault }, left: times });
  }

  /** Forgets every fault not yet used up. */
  clearFaults(): void {
    this.faults.splice(0);
  }

  // ---- Rate limit, outage ------------------------------------------------------------------------------------

  private clock: () => number = () => performance.now();
  /** Seconds sent as `Retry-After` on the rate limit's throttling answers; undefined (the default): no header. */
  retryAfterSeconds: number | undefined = undefined;

  private perSecond: number | undefined;
  private down = false;
  private lastAt = -Infinity;
  /** Calls admitted by the rate limit (whatever they answered after): the limit counts these. */
  private readonly accepted = new SlidingWindow(WINDOW_MS);
  /** Every call received, refused or not, since `resetRateStats`. */
  private readonly received = new SlidingWindow(WINDOW_MS);
  private maxReceived = 0;
  private throttled = 0;

  /**
   * From now on refuse, with the vendor's throttling answer, a call that would make more than `perSecond`
   * accepted calls in any 1000 ms (calls less than 1000 ms apart share a window). Refused calls do not count
   * as accepted. `undefined` lifts the limit. Every action counts, and only calls that pass authentication
   * (and the rest of the vendor's routing): an unsigned request is refused for that first.
   */
  limitRate(perSecond: number | undefined): void {
    if (perSecond !== undefined && !(perSecond >= 0)) throw new RangeError(`limitRate wants a non-negative number, not ${perSecond}`);
    this.perSecond = perSecond;
  }

  /**
   * While on, every call (once authenticated) answers the vendor's server-error answer and changes nothing;
   * faults are not used up and the rate limit does not count the call.
   */
  outage(on: boolean): void {
    this.down = on;
  }

  /**
   * Reads time (ms) for the rate limit and the rate statistics from `now` (a test's own clock) instead of
   * performance.now(), and forgets the windows measured with the old clock. It must not go backwards: a
   * reading earlier than the last one counts as the last one.
   */
  useClock(now: () => number): void {
    this.clock = now;
    this.lastAt = -Infinity;
    this.accepted.clear();
    this.resetRateStats();
  }

  /** The most calls received (accepted or refused, every action) within any 1000 ms since `resetRateStats`. */
  get maxCallsInAnySecond(): number {
    return this.maxReceived;
  }

  /** How many calls the rate limit refused since `resetRateStats`. */
  get throttledCount(): number {
    return this.throttled;
  }

  /** Starts `maxCallsInAnySecond` and `throttledCount` afresh (the rate limit's own window is kept). */
  resetRateStats(): void {
    this.received.clear();
    this.maxReceived = 0;
    this.throttled = 0;
  }

  /** The vendor's answer to a caller over its rate limit (a subclass gives its own code and HTTP status). */
  protected throttlingError(): VendorError {
    return new VendorError(429, "Throttling", "Too many requests.");
  }

  /** The vendor's answer while it is down (a subclass gives its own code and HTTP status). */
  protected outageError(): VendorError {
    return new VendorError(503, "ServiceUnavailable", "The service is temporarily unavailable.");
  }

  private tick(): number {
    this.lastAt = Math.max(this.lastAt, this.clock());
    this.received.add(this.lastAt);
    this.maxReceived = Math.max(this.maxReceived, this.received.countAt(this.lastAt));
    return this.lastAt;
  }

  /** Whether the rate limit admits a call at `at`; an admitted call is counted. */
  private admit(at: number): boolean {
    const inWindow = this.accepted.countAt(at);
    if (this.perSecond !== undefined && inWindow >= this.perSecond) return false;
    this.accepted.add(at);
    return true;
  }

  private takeFault(action: string): Fault | undefined {
    const i = this.faults.findIndex((f) => f.fault.action === action);
    if (i < 0) return undefined;
    const entry = this.faults[i]!;
    if (--entry.left <= 0) this.faults.splice(i, 1);
    return entry.fault;
  }

  callsOf(action: string): RecordedCall[] {
    return this.calls.filter((c) => c.action === action);
  }

  protected requestId(): string {
    return randomUUID();
  }

  /**
   * One call, in the vendor's order: authentication and routing (`dispatch`), then the outage, then the rate
   * limit, then an injected fault, then the operation itself.
   */
  async handle(req: SandboxRequest): Promise<SandboxResponse> {
    const receivedAt = Date.now();
    const at = this.tick();
    let action = "?";
    let params: Json = {};
    try {
      const routed = this.dispatch(req);
      action = routed.action;
      params = routed.params;
      if (this.down) throw this.outageError();
      if (!this.admit(at)) {
        this.throttled++;
        const error = this.throttlingError();
        this.calls.push({ action, params, answer: error.code, receivedAt });
        const answer = this.failure(action, error);
        if (this.retryAfterSeconds === undefined) return answer;
        return { ...answer, headers: { ...answer.headers, "retry-after": String(Math.max(0, Math.ceil(this.retryAfterSeconds))) } };
      }
      const f = this.takeFault(action);
      if (f) {
        if (f.commit) routed.run();
        // unref: a held answer must not keep a finished test run or a stopping demo alive
        if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs).unref());
        if (f.drop) {
          this.calls.push({ action, params, answer: "dropped", receivedAt });
          return { status: 0, body: undefined, drop: true };
        }
        throw f.code === undefined ? this.outageError() : new VendorError(f.status ?? 500, f.code, f.message ?? f.code);
      }
      const result = routed.run();
      this.calls.push({ action, params, answer: "ok", receivedAt });
      return this.success(action, result);
    } catch (error) {
      if (!(error instanceof VendorError)) throw error;
      this.calls.push({ action, params, answer: error.code, receivedAt });
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
          this.handle({
            endpoint,
            method: request.method ?? "GET",
            path: url.pathname,
            query: url.searchParams,
            headers: request.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          })
            .then((answer) => {
              if (answer.drop) {
                request.socket.destroy();
                return;
              }
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

/** One parameter of a request model: its JSON type and the limits the SDK model documents for it. */
export interface ParamModel {
  type: ParamType;
  /** Characters (code points), as Tencent's and Alibaba's models count them. */
  minLength?: number;
  maxLength?: number;
  /** UTF-8 bytes, as the Go SDK's `min`/`max` tags on strings count them (Volcengine). */
  minBytes?: number;
  maxBytes?: number;
  /** Bounds of an integer. */
  minimum?: number;
  maximum?: number;
  /** The only values a string may take. */
  enum?: string[];
  /** An array's elements. */
  items?: ParamSpec;
  /** An object's fields (a nested structure such as CIAM's Pageable), and which of them are required. */
  fields?: Record<string, ParamSpec>;
  required?: string[];
}

/** A parameter's model: its JSON type alone, or its type with limits. */
export type ParamSpec = ParamType | ParamModel;

/** An action's request model: every parameter it knows, which are required, and the errors it answers. */
export interface ActionModel {
  params: Record<string, ParamSpec>;
  required: string[];
  /**
   * The action's own error codes (beyond the vendor's common ones), as the SDK lists them for it. The
   * sandbox answers no other action-specific code for the action.
   */
  errors?: string[];
}

/** What is wrong with a request, for the vendor's error: the parameter's dotted name and the rule it broke. */
export type ModelProblem = "unknown" | "type" | "missing" | "invalid";

export function paramModel(spec: ParamSpec): ParamModel {
  return typeof spec === "string" ? { type: spec } : spec;
}

function typeOf(value: unknown): ParamType | "other" {
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "other";
  if (Array.isArray(value)) return "array";
  return value && typeof value === "object" ? "object" : "other";
}

/** Why a value breaks its parameter's limits, or undefined when it keeps them. */
function brokenLimit(model: ParamModel, value: unknown): string | undefined {
  if (typeof value === "string") {
    const chars = lengthOf(value);
    const bytes = bytesOf(value);
    if (model.minLength !== undefined && chars < model.minLength) return `at least ${model.minLength} characters`;
    if (model.maxLength !== undefined && chars > model.maxLength) return `at most ${model.maxLength} characters`;
    if (model.minBytes !== undefined && bytes < model.minBytes) return `at least ${model.minBytes} bytes`;
    if (model.maxBytes !== undefined && bytes > model.maxBytes) return `at most ${model.maxBytes} bytes`;
    if (model.enum && !model.enum.includes(value)) return `one of ${model.enum.join(", ")}`;
  }
  if (typeof value === "number") {
    if (model.minimum !== undefined && value < model.minimum) return `at least ${model.minimum}`;
    if (model.maximum !== undefined && value > model.maximum) return `at most ${model.maximum}`;
  }
  return undefined;
}

type ModelFail = (problem: ModelProblem, name: string, expected?: string) => VendorError;

function checkFields(fields: Record<string, ParamSpec>, required: string[], value: Json, prefix: string, fail: ModelFail): void {
  for (const [name, field] of Object.entries(value)) {
    const spec = ownEntry(fields, name);
    if (!spec) throw fail("unknown", `${prefix}${name}`);
    checkValue(paramModel(spec), field, `${prefix}${name}`, fail);
  }
  for (const name of required) if (ownEntry(value, name) === undefined) throw fail("missing", `${prefix}${name}`);
}

function checkValue(model: ParamModel, value: unknown, name: string, fail: ModelFail): void {
  if (typeOf(value) !== model.type) throw fail("type", name, model.type);
  const broken = brokenLimit(model, value);
  if (broken) throw fail("invalid", name, broken);
  if (model.items && Array.isArray(value)) value.forEach((item, i) => checkValue(paramModel(model.items!), item, `${name}.${i + 1}`, fail));
  if (model.fields && model.type === "object") checkFields(model.fields, model.required ?? [], value as Json, `${name}.`, fail);
}

/**
 * Checks a request against its action's model, as the vendor's gateway does: a parameter the model does
 * not have, one of the wrong JSON type (an integer sent as a string), one outside its documented limits,
 * or a required one missing is refused with the code `fail` makes for it. Nested structures are checked
 * field by field; a nested name is dotted (`Pageable.PageSize`, `Filters.1.Values`).
 */
export function checkModel(model: ActionModel, params: Json, fail: ModelFail): void {
  checkFields(model.params, model.required, params, "", fail);
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
  return Array.isArray(v) ? (v[0] ?? "") : (v ?? "");
}

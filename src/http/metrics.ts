/**
 * The bridge's Prometheus metrics (prom-client), every name prefixed `scim_bridge_`, on a registry of each
 * bridge's own: never prom-client's global default registry, so several bridges in one process (the tests)
 * do not collide. `createMetrics()` builds a fresh set each call; `metricsHandler` answers GET /metrics.
 *
 * What an operator alerts on:
 * - `scim_bridge_outbox_oldest_pending_deprovision_seconds > 300`: someone the IdP removed still has an
 *   account at a vendor after five minutes (the security-relevant backlog).
 * - `histogram_quantile(0.99, sum by (target, le) (rate(scim_bridge_deprovision_to_vendor_seconds_bucket[1h]))) > 60`:
 *   deprovisionings take more than a minute from the IdP's request to the vendor's confirmation.
 * - `increase(scim_bridge_outbox_dead_letters_total[15m]) > 0`: changes the bridge gave up on; they need a human.
 * - `scim_bridge_circuit_open == 1` for 5 minutes (`for: 5m`): a vendor credential has been refused or
 *   throttled long enough that nothing reaches that vendor.
 * - `scim_bridge_store_up == 0`: the scrape-time snapshot (outbox depth) could not be read; the outbox
 *   gauges then keep their last values rather than falling to zero and silencing the alerts above.
 *
 * Label values are bounded: SCIM routes are patterns (`/Users/:id`, never an id or a query), methods outside
 * GET/POST/PUT/PATCH/DELETE are `other`, and the credential label is an opaque short id chosen by the caller
 * (see `credentialId`), never a key.
 */
import { createHash } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { ownEntry } from "../lib/own-entry";

export const METRIC_PREFIX = "scim_bridge_";

export const VENDOR_OUTCOMES = ["success", "conflict", "notFound", "invalid", "throttled", "transient", "auth", "deadline"] as const;
/** How one vendor call ended (the same classes as the store's VendorCallOutcome). */
export type CallOutcomeLabel = (typeof VENDOR_OUTCOMES)[number];

export const OUTBOX_STATES = ["pending", "failed"] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

export const SCIM_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type ScimMethodLabel = (typeof SCIM_METHODS)[number] | "other";

export type ScimRoute =
  | "/Users"
  | "/Users/:id"
  | "/Users/.search"
  | "/Groups"
  | "/Groups/:id"
  | "/Groups/.search"
  | "/.search"
  | "/ServiceProviderConfig"
  | "/Schemas"
  | "/Schemas/:id"
  | "/ResourceTypes"
  | "/ResourceTypes/:id"
  | "/Bulk"
  | "/Me"
  | "other";

/** Outbox rows of one target in one state, as the store counts them. */
export interface OutboxDepthRow {
  target: string;
  state: OutboxState;
  count: number;
}

/** Age in seconds of a target's oldest pending deprovision (a delete or a deactivation). */
export interface OutboxOldestRow {
  target: string;
  seconds: number;
}

/** Reads a snapshot (outbox depth from the store, say) into the gauges; run before each scrape. */
export type ScrapeCollector = () => Promise<void>;

export interface MetricsOptions {
  /** prom-client's default process metrics (CPU, memory, event loop, GC), prefixed. Default true. */
  processMetrics?: boolean;
  /** Targets known up front: their outbox gauges and counters show 0 from the first scrape on. */
  targets?: readonly string[];
  /** Told of each collector that failed or timed out; the scrape itself still answers. */
  onCollectorError?: (error: unknown) => void;
  /** How long a scrape waits for its collectors, in ms. Default 5000. */
  collectorTimeoutMs?: number;
}

export interface BridgeMetrics {
  /** This bridge's own registry; its `metrics()` runs the `onScrape` collectors first. */
  readonly registry: Registry;
  /** One SCIM request answered (`scimRequestMetrics` calls this). */
  scimRequest(target: string, method: string, route: ScimRoute, status: number, seconds: number): void;
  /** One call to a vendor's API and how long it took, retries not included. */
  vendorCall(vendor: string, action: string, outcome: CallOutcomeLabel, seconds: number): void;
  /**
   * Replaces the outbox gauges with this snapshot: every target seen before (or declared) falls to 0 unless
   * a row names it, so a drained outbox shows 0 rather than its last depth. Rows of one target and state add up.
   */
  outboxSnapshot(rows: readonly OutboxDepthRow[], oldest: readonly OutboxOldestRow[]): void;
  /** One outbox entry was retried. */
  retry(target: string): void;
  /** One outbox entry was given up on. */
  deadLetter(target: string): void;
  /** A vendor call failed inside the bridge's own code (a bug, logged with its stack), not at the vendor. */
  vendorCallBug(target: string, operation: string): void;
  /** A deprovisioning reached the vendor, `seconds` after the IdP asked for it. */
  deprovisioned(target: string, seconds: number): void;
  /** A call waited this long for the rate limiter of a credential. */
  limiterWait(credential: string, seconds: number): void;
  /** The rate limit in force for a credential now (it falls when the vendor throttles). */
  rate(credential: string, perSecond: number): void;
  /** The circuit breaker state of a credential; a closed→open change counts one open. */
  circuit(credential: string, open: boolean): void;
  /** Registers a collector run before each scrape; the function returned unregisters it. */
  onScrape(fn: ScrapeCollector): () => void;
  /** Runs the collectors now (a scrape does this); true when all succeeded, which `scim_bridge_store_up` shows. */
  collect(): Promise<boolean>;
}

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const VENDOR_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Around the one-minute target, and far enough past it to tell an outage's tail from a stuck queue. */
const DEPROVISION_BUCKETS = [0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 300, 600, 1800, 3600];

const SAFE_LABEL = /^[A-Za-z0-9._:-]{1,64}$/;
const SAFE_CREDENTIAL = /^[A-Za-z0-9._:-]{1,32}$/;

/** A label value from a bounded set of names (targets, vendors, actions); anything else is `other`. */
function bounded(value: unknown): string {
  return typeof value === "string" && SAFE_LABEL.test(value) ? value : "other";
}

/**
 * An opaque short id for a credential label: `c-` and 12 hex digits of the SHA-256 of what it is given
 * (an access key id, a target and vendor name). Callers may pass their own short id instead.
 */
export function credentialId(identity: string): string {
  return `c-${createHash("sha256").update(identity).digest("hex").slice(0, 12)}`;
}

/** The credential label: a short id as given; anything long or odd is hashed, so a key is never shown. */
function credentialLabel(credential: string): string {
  return typeof credential === "string" && SAFE_CREDENTIAL.test(credential) ? credential : credentialId(String(credential));
}

function finiteSeconds(value: number): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

export function scimMethodOf(method: string): ScimMethodLabel {
  const upper = typeof method === "string" ? method.toUpperCase() : "";
  return (SCIM_METHODS as readonly string[]).includes(upper) ? (upper as ScimMethodLabel) : "other";
}

// Relative to the SCIM router's mount; a leading /scim/v2 is tolerated for middleware mounted on the app.
const ROUTE = /^(?:\/scim\/v2)?\/([^/]+)(?:\/([^/]+))?\/?$/i;
const RESOURCES: Record<string, "Users" | "Groups"> = { users: "Users", groups: "Groups" };
const DISCOVERY: Record<string, "ServiceProviderConfig" | "Schemas" | "ResourceTypes"> = {
  serviceproviderconfig: "ServiceProviderConfig",
  schemas: "Schemas",
  resourcetypes: "ResourceTypes",
};

/** The route pattern of a path below the SCIM mount (`/Users/0b6a…` → `/Users/:id`); unknown paths are `other`. */
export function scimRouteOf(path: string): ScimRoute {
  const match = ROUTE.exec(typeof path === "string" ? path : "");
  if (!match) return "other";
  const head = match[1].toLowerCase();
  const tail = match[2];
  const resource = ownEntry(RESOURCES, head);
  if (resource) {
    if (tail === undefined) return `/${resource}`;
    return tail.toLowerCase() === ".search" ? `/${resource}/.search` : `/${resource}/:id`;
  }
  if (head === ".search") return tail === undefined ? "/.search" : "other";
  if (head === "serviceproviderconfig") return tail === undefined ? "/ServiceProviderConfig" : "other";
  const discovery = ownEntry(DISCOVERY, head);
  if (discovery === "Schemas" || discovery === "ResourceTypes") return tail === undefined ? `/${discovery}` : `/${discovery}/:id`;
  if (head === "bulk") return tail === undefined ? "/Bulk" : "other";
  if (head === "me") return tail === undefined ? "/Me" : "other";
  return "other";
}

/** Its `metrics()` and `getMetricsAsJSON()` refresh the scrape-time gauges first. */
class BridgeRegistry extends Registry {
  constructor(private readonly beforeScrape: () => Promise<unknown>) {
    super();
  }

  override async metrics(): Promise<string> {
    await this.beforeScrape();
    return super.metrics();
  }

  override async getMetricsAsJSON(): ReturnType<Registry["getMetricsAsJSON"]> {
    await this.beforeScrape();
    return super.getMetricsAsJSON();
  }
}

async function withTimeout(run: ScrapeCollector, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`metrics collector timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    await Promise.race([Promise.resolve().then(run), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createMetrics(options: MetricsOptions = {}): BridgeMetrics {
  const { processMetrics = true, onCollectorError, collectorTimeoutMs = 5000 } = options;
  const collectors = new Set<ScrapeCollector>();
  let inFlight: Promise<boolean> | undefined;

  const collect = (): Promise<boolean> => {
    // Scrapes that overlap share one run of the collectors.
    inFlight ??= (async () => {
      const results = await Promise.allSettled([...collectors].map((fn) => withTimeout(fn, collectorTimeoutMs)));
      let ok = true;
      for (const result of results) {
        if (result.status === "fulfilled") continue;
        ok = false;
        try {
          onCollectorError?.(result.reason);
        } catch {
          // a failing logger must not fail the scrape either
        }
      }
      storeUp.set(ok ? 1 : 0);
      return ok;
    })().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const registry = new BridgeRegistry(collect);
  const registers = [registry];
  const name = (suffix: string) => `${METRIC_PREFIX}${suffix}`;

  const scimRequests = new Counter({
    name: name("scim_requests_total"),
    help: "SCIM requests answered, by target, method, route pattern and status.",
    labelNames: ["target", "method", "route", "status"] as const,
    registers,
  });
  const scimDuration = new Histogram({
    name: name("scim_request_duration_seconds"),
    help: "Time to answer a SCIM request, by target, method and route pattern.",
    labelNames: ["target", "method", "route"] as const,
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const vendorCalls = new Counter({
    name: name("vendor_calls_total"),
    help: "Calls to vendors' APIs, by vendor, action and outcome.",
    labelNames: ["vendor", "action", "outcome"] as const,
    registers,
  });
  const vendorDuration = new Histogram({
    name: name("vendor_call_duration_seconds"),
    help: "Time of one call to a vendor's API, by vendor and action.",
    labelNames: ["vendor", "action"] as const,
    buckets: VENDOR_BUCKETS,
    registers,
  });
  const outboxDepth = new Gauge({
    name: name("outbox_depth"),
    help: "Outbox entries by target and state (pending or failed), as of the last scrape.",
    labelNames: ["target", "state"] as const,
    registers,
  });
  const oldestDeprovision = new Gauge({
    name: name("outbox_oldest_pending_deprovision_seconds"),
    help: "Age of the oldest open deprovision (delete or deactivation, pending or refused by the vendor) per target; alert above 300.",
    labelNames: ["target"] as const,
    registers,
  });
  const retries = new Counter({
    name: name("outbox_retries_total"),
    help: "Outbox entries retried, by target.",
    labelNames: ["target"] as const,
    registers,
  });
  const deadLetters = new Counter({
    name: name("outbox_dead_letters_total"),
    help: "Outbox entries given up on, by target; any increase needs a human.",
    labelNames: ["target"] as const,
    registers,
  });
  const vendorCallBugs = new Counter({
    name: name("vendor_call_bugs_total"),
    help: "Vendor calls that failed inside the bridge's own code (a bug: logged with its stack), by target and mapping operation.",
    labelNames: ["target", "operation"] as const,
    registers,
  });
  const deprovisionTime = new Histogram({
    name: name("deprovision_to_vendor_seconds"),
    help: "Time from the IdP's deactivation or delete to the vendor's confirmation, by target; alert when its p99 passes 60.",
    labelNames: ["target"] as const,
    buckets: DEPROVISION_BUCKETS,
    registers,
  });
  const limiterWait = new Histogram({
    name: name("rate_limiter_wait_seconds"),
    help: "Time a vendor call waited for its credential's rate limiter.",
    labelNames: ["credential"] as const,
    buckets: WAIT_BUCKETS,
    registers,
  });
  const rateNow = new Gauge({
    name: name("rate_limit_current_per_second"),
    help: "The rate limit in force for a credential, in calls per second.",
    labelNames: ["credential"] as const,
    registers,
  });
  const circuitOpen = new Gauge({
    name: name("circuit_open"),
    help: "1 while a credential's circuit breaker is open; alert when open for 5 minutes.",
    labelNames: ["credential"] as const,
    registers,
  });
  const circuitOpens = new Counter({
    name: name("circuit_opens_total"),
    help: "Times a credential's circuit breaker opened.",
    labelNames: ["credential"] as const,
    registers,
  });
  const storeUp = new Gauge({
    name: name("store_up"),
    help: "1 when the last scrape read its snapshot (outbox depth) from the store, 0 when that failed.",
    registers,
  });
  storeUp.set(1);

  if (processMetrics) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  const knownTargets = new Set<string>();
  const know = (target: string): string => {
    const label = bounded(target);
    if (!knownTargets.has(label)) {
      knownTargets.add(label);
      // Present at 0 from the start, so increase() sees the first retry or dead letter.
      retries.inc({ target: label }, 0);
      deadLetters.inc({ target: label }, 0);
    }
    return label;
  };
  const zeroOutbox = () => {
    outboxDepth.reset();
    oldestDeprovision.reset();
    for (const target of knownTargets) {
      for (const state of OUTBOX_STATES) outboxDepth.set({ target, state }, 0);
      oldestDeprovision.set({ target }, 0);
    }
  };
  for (const target of options.targets ?? []) know(target);
  zeroOutbox();

  const circuitState = new Map<string, boolean>();

  return {
    registry,
    scimRequest(target, method, route, status, seconds) {
      const labels = { target: target === "-" ? "-" : bounded(target), method: scimMethodOf(method), route };
      const code = Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : "other";
      scimRequests.inc({ ...labels, status: code });
      const s = finiteSeconds(seconds);
      if (s !== undefined) scimDuration.observe(labels, s);
    },
    vendorCall(vendor, action, outcome, seconds) {
      const labels = { vendor: bounded(vendor), action: bounded(action) };
      const result = (VENDOR_OUTCOMES as readonly string[]).includes(outcome) ? outcome : "other";
      vendorCalls.inc({ ...labels, outcome: result });
      const s = finiteSeconds(seconds);
      if (s !== undefined) vendorDuration.observe(labels, s);
    },
    outboxSnapshot(rows, oldest) {
      for (const row of rows) know(row.target);
      for (const row of oldest) know(row.target);
      zeroOutbox();
      for (const row of rows) {
        if (!(OUTBOX_STATES as readonly string[]).includes(row.state)) continue;
        const count = Number(row.count);
        if (Number.isFinite(count) && count > 0) outboxDepth.inc({ target: bounded(row.target), state: row.state }, count);
      }
      // Several rows of one target: the oldest wins.
      const oldestOf = new Map<string, number>();
      for (const row of oldest) {
        const s = finiteSeconds(Number(row.seconds));
        if (s === undefined) continue;
        const target = bounded(row.target);
        oldestOf.set(target, Math.max(s, oldestOf.get(target) ?? 0));
      }
      for (const [target, s] of oldestOf) oldestDeprovision.set({ target }, s);
    },
    retry(target) {
      retries.inc({ target: know(target) });
    },
    deadLetter(target) {
      deadLetters.inc({ target: know(target) });
    },
    vendorCallBug(target, operation) {
      vendorCallBugs.inc({ target: know(target), operation: bounded(operation) });
    },
    deprovisioned(target, seconds) {
      const s = finiteSeconds(seconds);
      if (s !== undefined) deprovisionTime.observe({ target: know(target) }, s);
    },
    limiterWait(credential, seconds) {
      const s = finiteSeconds(seconds);
      if (s !== undefined) limiterWait.observe({ credential: credentialLabel(credential) }, s);
    },
    rate(credential, perSecond) {
      if (typeof perSecond === "number" && Number.isFinite(perSecond) && perSecond >= 0) rateNow.set({ credential: credentialLabel(credential) }, perSecond);
    },
    circuit(credential, open) {
      const label = credentialLabel(credential);
      const wasOpen = circuitState.get(label) ?? false;
      if (!circuitState.has(label)) circuitOpens.inc({ credential: label }, 0);
      circuitState.set(label, open);
      circuitOpen.set({ credential: label }, open ? 1 : 0);
      if (open && !wasOpen) circuitOpens.inc({ credential: label });
    },
    onScrape(fn) {
      collectors.add(fn);
      return () => {
        collectors.delete(fn);
      };
    },
    collect,
  };
}

/**
 * Express middleware for the SCIM router: counts and times each request when its answer is sent. The route
 * is the pattern of the path relative to the router's mount, taken when the request arrives (routing changes
 * req.url on the way); the target is the one authentication set, `-` when none did.
 */
export function scimRequestMetrics(metrics: BridgeMetrics): RequestHandler {
  return (req: Request, res: Response, next) => {
    const started = process.hrtime.bigint();
    const route = scimRouteOf(req.path);
    const method = req.method;
    res.once("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const target: unknown = res.locals.target?.name;
      metrics.scimRequest(typeof target === "string" ? target : "-", method, route, res.statusCode, seconds);
    });
    next();
  };
}

/** GET /metrics: the registry's text, after the scrape-time collectors ran (their failures do not fail it). */
export function metricsHandler(metrics: BridgeMetrics): RequestHandler {
  return async (_req: Request, res: Response) => {
    const body = await metrics.registry.metrics();
    res.set("Content-Type", metrics.registry.contentType);
    res.set("Cache-Control", "no-store");
    res.send(body);
  };
}

/** The bridge's Prometheus metrics: a real express app with the middleware and /metrics, scraped over HTTP. */
import express, { type NextFunction, type Request, type Response } from "express";
import { register as globalRegistry } from "prom-client";
import request from "supertest";
import { createMetrics, credentialId, metricsHandler, scimRequestMetrics, scimRouteOf, type BridgeMetrics, type MetricsOptions } from "../src/http/metrics";

type Labels = Record<string, string>;
interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

/** Prometheus text format → samples (enough of it for what prom-client writes). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsed metrics line: ${line}`);
    const labels: Labels = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one series with exactly these labels; undefined when absent. */
function value(samples: Sample[], name: string, labels: Labels = {}): number | undefined {
  const hits = samples.filter((s) => {
    if (s.name !== name) return false;
    const keys = Object.keys(s.labels);
    return keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k]);
  });
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${hits.length} series`);
  return hits[0]?.value;
}

function series(samples: Sample[], name: string): Sample[] {
  return samples.filter((s) => s.name === name);
}

const ID = "0b6a5d2e-7c1f-4b8e-9a3d-2f6c8e1a4b7d";

/** Like the bridge: SCIM under /scim/v2 on a router, metrics first, then a bearer check that sets res.locals.target. */
function bridgeApp(metrics: BridgeMetrics) {
  const app = express();
  const scim = express.Router();
  scim.use(scimRequestMetrics(metrics));
  scim.use((req: Request, res: Response, next: NextFunction) => {
    if (req.get("authorization") !== "Bearer good") {
      res.status(401).json({ detail: "no" });
      return;
    }
    res.locals.target = { name: "acme" } as typeof res.locals.target;
    next();
  });
  scim.get("/Users", (_req, res) => void res.json({ Resources: [] }));
  scim.post("/Users", (_req, res) => void res.status(201).json({ id: ID }));
  scim.post("/Users/.search", (_req, res) => void res.json({ Resources: [] }));
  scim.get("/Users/:id", async (req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    res.json({ id: req.params.id });
  });
  scim.delete("/Users/:id", (_req, res) => void res.status(204).end());
  scim.patch("/Groups/:id", (req, res) => void res.json({ id: req.params.id }));
  scim.get("/ServiceProviderConfig", (_req, res) => void res.json({}));
  scim.get("/Schemas/:id", (req, res) => void res.json({ id: req.params.id }));
  scim.use((_req, res) => void res.status(404).json({ detail: "not found" }));
  app.use("/scim/v2", scim);
  app.get("/metrics", metricsHandler(metrics));
  return app;
}

const quiet: MetricsOptions = { processMetrics: false };

async function scrape(app: express.Express): Promise<{ text: string; samples: Sample[] }> {
  const res = await request(app).get("/metrics").expect(200);
  return { text: res.text, samples: parse(res.text) };
}

describe("SCIM request metrics", () => {
  const metrics = createMetrics(quiet);
  const app = bridgeApp(metrics);
  const auth = { Authorization: "Bearer good" };

  it("labels a request by route pattern, never by its id or query, and the counter moves", async () => {
    const labels = { target: "acme", method: "GET", route: "/Users/:id", status: "200" };
    const before = (await scrape(app)).samples;
    expect(value(before, "scim_bridge_scim_requests_total", labels)).toBeUndefined();

    await request(app).get(`/scim/v2/Users/${ID}?attributes=userName`).set(auth).expect(200);
    const once = await scrape(app);
    expect(value(once.samples, "scim_bridge_scim_requests_total", labels)).toBe(1);

    await request(app).get(`/scim/v2/Users/${ID}`).set(auth).expect(200);
    const twice = await scrape(app);
    expect(value(twice.samples, "scim_bridge_scim_requests_total", labels)).toBe(2);

    const timing = { target: "acme", method: "GET", route: "/Users/:id" };
    expect(value(twice.samples, "scim_bridge_scim_request_duration_seconds_count", timing)).toBe(2);
    expect(value(twice.samples, "scim_bridge_scim_request_duration_seconds_sum", timing)).toBeGreaterThan(0.005);
    expect(value(twice.samples, "scim_bridge_scim_request_duration_seconds_bucket", { ...timing, le: "+Inf" })).toBe(2);

    expect(twice.text).not.toContain(ID);
    expect(twice.text).not.toContain("attributes");
    expect(twice.text).not.toContain("userName");
  });

  it("labels unauthenticated requests with target '-'", async () => {
    const labels = { target: "-", method: "GET", route: "/Users", status: "401" };
    const before = value((await scrape(app)).samples, "scim_bridge_scim_requests_total", labels) ?? 0;
    await request(app).get("/scim/v2/Users?filter=userName%20eq%20%22bjensen%22").expect(401);
    const after = (await scrape(app)).samples;
    expect(value(after, "scim_bridge_scim_requests_total", labels)).toBe(before + 1);
    expect(series(after, "scim_bridge_scim_requests_total").every((s) => !JSON.stringify(s.labels).includes("bjensen"))).toBe(true);
  });

  it("maps every SCIM route to its pattern and the rest to other", async () => {
    await request(app).post("/scim/v2/Users/.search").set(auth).send({}).expect(200);
    await request(app).post("/scim/v2/Users").set(auth).send({}).expect(201);
    await request(app).delete(`/scim/v2/Users/${ID}`).set(auth).expect(204);
    await request(app).patch("/scim/v2/Groups/g-42").set(auth).send({}).expect(200);
    await request(app).get("/scim/v2/ServiceProviderConfig").set(auth).expect(200);
    await request(app).get("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").set(auth).expect(200);
    await request(app).get("/scim/v2/Nope/deeper/still").set(auth).expect(404);
    await request(app).options("/scim/v2/Users").set(auth);
    const { samples, text } = await scrape(app);
    const count = (method: string, route: string, status: string) =>
      value(samples, "scim_bridge_scim_requests_total", { target: "acme", method, route, status });
    expect(count("POST", "/Users/.search", "200")).toBe(1);
    expect(count("POST", "/Users", "201")).toBe(1);
    expect(count("DELETE", "/Users/:id", "204")).toBe(1);
    expect(count("PATCH", "/Groups/:id", "200")).toBe(1);
    expect(count("GET", "/ServiceProviderConfig", "200")).toBe(1);
    expect(count("GET", "/Schemas/:id", "200")).toBe(1);
    expect(count("GET", "other", "404")).toBe(1);
    expect(series(samples, "scim_bridge_scim_requests_total").some((s) => s.labels.method === "other" && s.labels.route === "/Users")).toBe(true);
    expect(text).not.toContain("g-42");
    expect(text).not.toContain("Nope");
    const methods = new Set(series(samples, "scim_bridge_scim_requests_total").map((s) => s.labels.method));
    for (const m of methods) expect(["GET", "POST", "PUT", "PATCH", "DELETE", "other"]).toContain(m);
  });

  it("answers /metrics with the registry's content type, uncached", async () => {
    const res = await request(app).get("/metrics").expect(200);
    expect(res.headers["content-type"]).toBe(metrics.registry.contentType);
    expect(res.headers["cache-control"]).toBe("no-store");
  });
});

describe("route patterns", () => {
  it.each([
    ["/Users", "/Users"],
    ["/users/", "/Users"],
    [`/Users/${ID}`, "/Users/:id"],
    ["/Users/.search", "/Users/.search"],
    ["/Groups", "/Groups"],
    ["/Groups/abc", "/Groups/:id"],
    ["/Groups/.search", "/Groups/.search"],
    ["/.search", "/.search"],
    ["/ServiceProviderConfig", "/ServiceProviderConfig"],
    ["/Schemas", "/Schemas"],
    ["/ResourceTypes", "/ResourceTypes"],
    ["/ResourceTypes/User", "/ResourceTypes/:id"],
    ["/Bulk", "/Bulk"],
    ["/Me", "/Me"],
    [`/scim/v2/Users/${ID}`, "/Users/:id"],
    ["/", "other"],
    ["/Users/a/b", "other"],
    ["/healthz", "other"],
    ["/ServiceProviderConfig/x", "other"],
    ["/constructor", "other"],
    ["/__proto__/x", "other"],
    ["/toString", "other"],
  ])("%s → %s", (path, route) => {
    expect(scimRouteOf(path)).toBe(route);
  });
});

describe("bridge metrics", () => {
  it("counts vendor calls by vendor, action and outcome, and times them", async () => {
    const metrics = createMetrics(quiet);
    const app = bridgeApp(metrics);
    metrics.vendorCall("aliyun-idaas", "createUser", "success", 0.2);
    metrics.vendorCall("aliyun-idaas", "createUser", "throttled", 0.05);
    metrics.vendorCall("aliyun-idaas", "createUser", "success", 12);
    const { samples } = await scrape(app);
    expect(value(samples, "scim_bridge_vendor_calls_total", { vendor: "aliyun-idaas", action: "createUser", outcome: "success" })).toBe(2);
    expect(value(samples, "scim_bridge_vendor_calls_total", { vendor: "aliyun-idaas", action: "createUser", outcome: "throttled" })).toBe(1);
    const labels = { vendor: "aliyun-idaas", action: "createUser" };
    expect(value(samples, "scim_bridge_vendor_call_duration_seconds_count", labels)).toBe(3);
    expect(value(samples, "scim_bridge_vendor_call_duration_seconds_bucket", { ...labels, le: "30" })).toBe(3);
    expect(value(samples, "scim_bridge_vendor_call_duration_seconds_bucket", { ...labels, le: "10" })).toBe(2);
  });

  it("replaces the outbox gauges with each snapshot: a drained target shows 0, not its last depth", async () => {
    const metrics = createMetrics({ ...quiet, targets: ["declared"] });
    const app = bridgeApp(metrics);
    const first = (await scrape(app)).samples;
    expect(value(first, "scim_bridge_outbox_depth", { target: "declared", state: "pending" })).toBe(0);
    expect(value(first, "scim_bridge_outbox_depth", { target: "declared", state: "failed" })).toBe(0);
    expect(value(first, "scim_bridge_outbox_oldest_pending_deprovision_seconds", { target: "declared" })).toBe(0);
    expect(value(first, "scim_bridge_outbox_dead_letters_total", { target: "declared" })).toBe(0);

    metrics.outboxSnapshot(
      [
        { target: "acme", state: "pending", count: 7 },
        { target: "acme", state: "failed", count: 2 },
        { target: "beta", state: "pending", count: 3 },
      ],
      [{ target: "acme", seconds: 420 }],
    );
    let samples = (await scrape(app)).samples;
    expect(value(samples, "scim_bridge_outbox_depth", { target: "acme", state: "pending" })).toBe(7);
    expect(value(samples, "scim_bridge_outbox_depth", { target: "acme", state: "failed" })).toBe(2);
    expect(value(samples, "scim_bridge_outbox_depth", { target: "beta", state: "pending" })).toBe(3);
    expect(value(samples, "scim_bridge_outbox_depth", { target: "beta", state: "failed" })).toBe(0);
    expect(value(samples, "scim_bridge_outbox_oldest_pending_deprovision_seconds", { target: "acme" })).toBe(420);
    expect(value(samples, "scim_bridge_outbox_oldest_pending_deprovision_seconds", { target: "beta" })).toBe(0);

    // acme drained; the store no longer returns rows for it
    metrics.outboxSnapshot([{ target: "beta", state: "pending", count: 1 }], []);
    samples = (await scrape(app)).samples;
    expect(value(samples, "scim_bridge_outbox_depth", { target: "acme", state: "pending" })).toBe(0);
    expect(value(samples, "scim_bridge_outbox_depth", { target: "acme", state: "failed" })).toBe(0);
    expect(value(samples, "scim_bridge_outbox_oldest_pending_deprovision_seconds", { target: "acme" })).toBe(0);
    expect(value(samples, "scim_bridge_outbox_depth", { target: "beta", state: "pending" })).toBe(1);
    expect(value(samples, "scim_bridge_outbox_depth", { target: "declared", state: "pending" })).toBe(0);
  });

  it("counts retries and dead letters per target", async () => {
    const metrics = createMetrics(quiet);
    const app = bridgeApp(metrics);
    metrics.retry("acme");
    metrics.retry("acme");
    metrics.deadLetter("acme");
    const before = (await scrape(app)).samples;
    expect(value(before, "scim_bridge_outbox_retries_total", { target: "acme" })).toBe(2);
    expect(value(before, "scim_bridge_outbox_dead_letters_total", { target: "acme" })).toBe(1);
    metrics.deadLetter("acme");
    const after = (await scrape(app)).samples;
    expect(value(after, "scim_bridge_outbox_dead_letters_total", { target: "acme" })).toBe(2);
  });

  it("records limiter waits, the current rate and circuit state per credential; opens count on closed→open only", async () => {
    const metrics = createMetrics(quiet);
    const app = bridgeApp(metrics);
    const credential = credentialId("LTAI5tExampleAccessKeyId");
    expect(credential).toMatch(/^c-[0-9a-f]{12}$/);
    metrics.limiterWait(credential, 0.3);
    metrics.rate(credential, 20);
    metrics.circuit(credential, false);
    let samples = (await scrape(app)).samples;
    expect(value(samples, "scim_bridge_rate_limiter_wait_seconds_count", { credential })).toBe(1);
    expect(value(samples, "scim_bridge_rate_limit_current_per_second", { credential })).toBe(20);
    expect(value(samples, "scim_bridge_circuit_open", { credential })).toBe(0);
    expect(value(samples, "scim_bridge_circuit_opens_total", { credential })).toBe(0);

    metrics.rate(credential, 5);
    metrics.circuit(credential, true);
    metrics.circuit(credential, true); // still open: not another open
    samples = (await scrape(app)).samples;
    expect(value(samples, "scim_bridge_rate_limit_current_per_second", { credential })).toBe(5);
    expect(value(samples, "scim_bridge_circuit_open", { credential })).toBe(1);
    expect(value(samples, "scim_bridge_circuit_opens_total", { credential })).toBe(1);

    metrics.circuit(credential, false);
    metrics.circuit(credential, true);
    samples = (await scrape(app)).samples;
    expect(value(samples, "scim_bridge_circuit_open", { credential })).toBe(1);
    expect(value(samples, "scim_bridge_circuit_opens_total", { credential })).toBe(2);
  });

  it("never shows a long credential as given: it is hashed", async () => {
    const metrics = createMetrics(quiet);
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    metrics.rate(secret, 1);
    const { text, samples } = await scrape(bridgeApp(metrics));
    expect(text).not.toContain(secret);
    expect(value(samples, "scim_bridge_rate_limit_current_per_second", { credential: credentialId(secret) })).toBe(1);
  });
});

describe("scrape-time collectors", () => {
  it("run before each scrape and refresh the gauges", async () => {
    const metrics = createMetrics(quiet);
    const app = bridgeApp(metrics);
    let depth = 4;
    let runs = 0;
    metrics.onScrape(async () => {
      runs++;
      metrics.outboxSnapshot([{ target: "acme", state: "pending", count: depth }], [{ target: "acme", seconds: 12 }]);
    });
    let samples = (await scrape(app)).samples;
    expect(runs).toBe(1);
    expect(value(samples, "scim_bridge_outbox_depth", { target: "acme", state: "pending" })).toBe(4);
    expect(value(samples, "scim_bridge_store_up")).toBe(1);
    depth = 0;
    samples = (await scrape(app)).samples;
    expect(runs).toBe(2);
    expect(value(samples, "scim_bridge_outbox_depth", { target: "acme", state: "pending" })).toBe(0);
  });

  it("a failing or hanging collector does not fail the scrape: store_up is 0 and the error is reported", async () => {
    const errors: unknown[] = [];
    const metrics = createMetrics({ ...quiet, onCollectorError: (e) => errors.push(e), collectorTimeoutMs: 50 });
    const app = bridgeApp(metrics);
    metrics.outboxSnapshot([{ target: "acme", state: "pending", count: 9 }], []);
    let storeDown = true;
    const stop = metrics.onScrape(async () => {
      if (storeDown) throw new Error("connection refused");
      metrics.outboxSnapshot([{ target: "acme", state: "pending", count: 1 }], []);
    });

    let samples = (await scrape(app)).samples;
    expect(value(samples, "scim_bridge_store_up")).toBe(0);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe("connection refused");
    // the last known depth is kept, not dropped to 0 (that would silence the alerts)
    expect(value(samples, "scim_bridge_outbox_depth", { target: "acme", state: "pending" })).toBe(9);

    storeDown = false;
    samples = (await scrape(app)).samples;
    expect(value(samples, "scim_bridge_store_up")).toBe(1);
    expect(value(samples, "scim_bridge_outbox_depth", { target: "acme", state: "pending" })).toBe(1);

    stop();
    metrics.onScrape(() => new Promise<void>(() => {})); // never settles
    const started = Date.now();
    samples = (await scrape(app)).samples;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(value(samples, "scim_bridge_store_up")).toBe(0);
    expect(String((errors[1] as Error).message)).toMatch(/timed out/);
  });

  it("a throwing error callback does not fail the scrape either", async () => {
    const metrics = createMetrics({
      ...quiet,
      onCollectorError: () => {
        throw new Error("logger down");
      },
    });
    metrics.onScrape(async () => {
      throw new Error("store down");
    });
    const { samples } = await scrape(bridgeApp(metrics));
    expect(value(samples, "scim_bridge_store_up")).toBe(0);
  });
});

describe("registries", () => {
  it("two createMetrics() instances are independent, and the global registry is untouched", async () => {
    const one = createMetrics(quiet);
    const two = createMetrics(quiet);
    expect(one.registry).not.toBe(two.registry);
    one.deadLetter("acme");
    one.vendorCall("v", "a", "success", 0.1);
    await request(bridgeApp(one)).get("/scim/v2/Users").expect(401);
    const a = parse(await one.registry.metrics());
    const b = parse(await two.registry.metrics());
    expect(value(a, "scim_bridge_outbox_dead_letters_total", { target: "acme" })).toBe(1);
    expect(value(b, "scim_bridge_outbox_dead_letters_total", { target: "acme" })).toBeUndefined();
    expect(value(a, "scim_bridge_vendor_calls_total", { vendor: "v", action: "a", outcome: "success" })).toBe(1);
    expect(series(b, "scim_bridge_vendor_calls_total")).toHaveLength(0);
    expect(series(a, "scim_bridge_scim_requests_total")).toHaveLength(1);
    expect(series(b, "scim_bridge_scim_requests_total")).toHaveLength(0);
    expect(globalRegistry.getMetricsAsArray().filter((m) => m.name.startsWith("scim_bridge_"))).toHaveLength(0);
  });

  it("process metrics are on the own registry, prefixed, and only when asked for", async () => {
    const withProcess = createMetrics({ processMetrics: true });
    const again = createMetrics({ processMetrics: true }); // a second one in the same process does not collide
    const without = createMetrics(quiet);
    const text = await withProcess.registry.metrics();
    expect(text).toMatch(/^scim_bridge_process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^scim_bridge_nodejs_heap_size_used_bytes \d/m);
    expect(await again.registry.metrics()).toMatch(/^scim_bridge_process_resident_memory_bytes \d/m);
    expect(await without.registry.metrics()).not.toMatch(/process_cpu|nodejs_/);
    expect(await globalRegistry.metrics()).not.toContain("scim_bridge_");
  });

  it("every metric of the bridge is prefixed scim_bridge_", async () => {
    const names = createMetrics(quiet)
      .registry.getMetricsAsArray()
      .map((m) => m.name);
    expect(names.length).toBeGreaterThan(10);
    for (const n of names) expect(n.startsWith("scim_bridge_")).toBe(true);
  });
});

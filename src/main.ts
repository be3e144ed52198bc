/** Starting and stopping a bridge: store, app, HTTP server. */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { Config } from "./config/schema";
import { createApp } from "./http/app";
import { Drain } from "./http/drain";
import { sealSharedPrototypes } from "./http/harden";
import { createLogger, type Logger } from "./log";
import type { Provisioner } from "./provisioning/provisioner";
import { scheduleAuditRetention } from "./provisioning/audit-retention";
import { buildProvisioners, type ProvisioningEvents } from "./provisioning/targets";
import { createMetrics, metricsHandler, type BridgeMetrics, type VendorOutcome } from "./http/metrics";
import express from "express";
import { openStore } from "./store/open";
import type { Store } from "./store/types";

export interface RunningBridge {
  url: string;
  scimBaseUrl: string;
  server: Server;
  store: Store;
  metrics?: BridgeMetrics;
  /** Where /metrics is served: the SCIM URL's, or the separate listener's. */
  metricsUrl?: string;
  close(): Promise<void>;
}

/** The provisioning side's events, as metrics. */
function eventsOf(metrics: BridgeMetrics): ProvisioningEvents {
  return {
    vendorCall: (vendor, action, outcome, seconds) => metrics.vendorCall(vendor, action, outcome as VendorOutcome, seconds),
    retry: (target) => metrics.retry(target),
    deadLetter: (target) => metrics.deadLetter(target),
    waited: (credential, seconds) => metrics.limiterWait(credential, seconds),
    rate: (credential, perSecond) => metrics.rate(credential, perSecond),
    circuit: (credential, open) => metrics.circuit(credential, open),
  };
}

/** At each scrape: outbox depth per target and state, and the age of the oldest pending deprovisioning. */
function collectOutbox(metrics: BridgeMetrics, store: Store): void {
  metrics.onScrape(async () => {
    const stats = await store.outboxStats();
    const now = Date.now();
    metrics.outboxSnapshot(stats.depth, stats.oldestDeprovision.map((o) => ({ target: o.target, seconds: Math.max(0, (now - o.since) / 1000) })));
  });
}

async function listen(app: express.Express, port: number, host: string): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once("error", reject);
  });
}

function urlOf(server: Server, host: string): string {
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  return `http://${shown === "0.0.0.0" ? "127.0.0.1" : shown}:${port}`;
}

/** How long in-flight requests may run on at shutdown: the longest vendor deadline, plus a margin. */
function graceMsOf(config: Config): number {
  return Math.max(5_000, ...config.targets.map((t) => t.vendor?.deadlineMs ?? 0)) + 5_000;
}

export async function startBridge(
  config: Config,
  options: { log?: Logger; store?: Store; provisioners?: Map<string, Provisioner> } = {},
): Promise<RunningBridge> {
  sealSharedPrototypes();
  const log = options.log ?? createLogger(config.log.level);
  const store = options.store ?? (await openStore(config.store, log));
  const metrics = config.metrics.enabled ? createMetrics({ targets: config.targets.map((t) => t.name), onCollectorError: (error) => log.warn("metrics: outbox snapshot failed", { error: (error as Error).message }) }) : undefined;
  if (metrics) collectOutbox(metrics, store);
  const targets = options.provisioners ? undefined : buildProvisioners(config, store, log, process.env, metrics ? eventsOf(metrics) : {});
  const stopRetention = scheduleAuditRetention(store, config.audit.retainDays, log);
  const drain = new Drain();
  const separateMetrics = metrics && config.metrics.port !== undefined;
  const app = createApp({ config, store, log, drain, metrics, serveMetrics: !!metrics && !separateMetrics, provisioners: options.provisioners ?? targets?.provisioners, deliveries: targets?.deliveries });
  const server = await listen(app, config.server.port, config.server.host);
  // Keep connections open a little longer than typical load balancers do.
  server.keepAliveTimeout = 65_000;
  let metricsServer: Server | undefined;
  if (separateMetrics) {
    const side = express();
    side.disable("x-powered-by");
    side.get("/metrics", metricsHandler(metrics));
    metricsServer = await listen(side, config.metrics.port!, config.metrics.host);
  }
  targets?.worker.start();
  const url = config.server.publicUrl?.replace(/\/$/, "") ?? urlOf(server, config.server.host);
  const metricsUrl = metrics ? `${metricsServer ? urlOf(metricsServer, config.metrics.host) : url}/metrics` : undefined;
  log.info("bridge listening", { url, store: store.kind, targets: config.targets.map((t) => t.name), ...(metricsUrl ? { metrics: metricsUrl } : {}) });
  return {
    url,
    scimBaseUrl: `${url}/scim/v2`,
    server,
    store,
    metrics,
    metricsUrl,
    /**
     * Stops intake at once (new connections refused, requests on kept-alive ones answered 503 with
     * Connection: close), lets requests in flight finish within the longest vendor deadline plus a margin,
     * then stops the outbox worker (its runs in flight finish within the same bound; the rest stays in the
     * outbox for the next start or another replica), then closes every socket, the vendor connections and
     * the store.
     */
    async close() {
      stopRetention();
      server.close();
      server.closeIdleConnections();
      const grace = graceMsOf(config);
      const [unfinished, outbox] = await Promise.all([drain.start(grace), targets ? targets.worker.stop(grace) : Promise.resolve({ finished: 0, cutOff: 0 })]);
      if (unfinished > 0) log.warn("shutdown: requests still running after the grace period were cut off", { unfinished });
      log.info("shutdown: outbox stopped", { runsFinished: outbox.finished, runsCutOff: outbox.cutOff, note: "work not finished stays in the outbox" });
      server.closeAllConnections();
      metricsServer?.closeAllConnections();
      metricsServer?.close();
      await targets?.close();
      if (!options.store) await store.close();
    },
  };
}

/** Starting and stopping a bridge: stores, app, HTTP server. */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Config } from "./config/schema";
import { createApp } from "./http/app";
import { STATUS_MOUNT, statusRoutes } from "./status/routes";
import { listen, readTls } from "./http/listen";
import { LiveTargets } from "./http/live-targets";
import { Drain } from "./http/drain";
import { sealSharedPrototypes } from "./http/harden";
import { createLogger, type Logger } from "./log";
import type { Provisioner } from "./provisioning/provisioner";
import { scheduleAuditRetention } from "./provisioning/audit-retention";
import { buildProvisioners, type ProvisioningEvents, type TargetProvisioners } from "./provisioning/targets";
import { createMetrics, metricsHandler, type BridgeMetrics, type CallOutcomeLabel } from "./http/metrics";
import express from "express";
import { openStores } from "./store/open";
import type { OutboxStore } from "./store/outbox/port";
import type { Stores } from "./store/stores";
import { VERSION } from "./version";

export interface RunningBridge {
  url: string;
  scimBaseUrl: string;
  server: Server;
  stores: Stores;
  metrics?: BridgeMetrics;
  /** Where /metrics is served: the SCIM URL's, or the separate listener's. */
  metricsUrl?: string;
  log: Logger;
  /**
   * Serves the configuration `load` reads (SIGHUP): tokens and targets are replaced without dropping a
   * request, and the TLS certificate is read again. A configuration that cannot be loaded or built is
   * refused and logged; the running one stays. Answers whether the new one is in force.
   */
  reload(load: () => Config): Promise<boolean>;
  close(): Promise<void>;
}

/** The provisioning side's events, as metrics. */
function eventsOf(metrics: BridgeMetrics): ProvisioningEvents {
  return {
    vendorCall: (vendor, action, outcome, seconds) => metrics.vendorCall(vendor, action, outcome as CallOutcomeLabel, seconds),
    vendorCallBug: (target, operation) => metrics.vendorCallBug(target, operation),
    retry: (target) => metrics.retry(target),
    deadLetter: (target) => metrics.deadLetter(target),
    deprovisioned: (target, seconds) => metrics.deprovisioned(target, seconds),
    waited: (credential, seconds) => metrics.limiterWait(credential, seconds),
    rate: (credential, perSecond) => metrics.rate(credential, perSecond),
    circuit: (credential, open) => metrics.circuit(credential, open),
  };
}

/** At each scrape: outbox depth per target and state, and the age of the oldest pending deprovisioning. */
function collectOutbox(metrics: BridgeMetrics, outbox: OutboxStore): void {
  metrics.onScrape(async () => {
    const stats = await outbox.stats();
    const now = Date.now();
    metrics.outboxSnapshot(
      stats.depth,
      stats.oldestDeprovision.map((o) => ({ target: o.target, seconds: Math.max(0, (now - o.since) / 1000) })),
    );
  });
}

function urlOf(server: Server, host: string, scheme = "http"): string {
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  return `${scheme}://${shown === "0.0.0.0" ? "127.0.0.1" : shown}:${port}`;
}

/** The settings a reload does not change: they need a restart (named in the log when they differ). */
const RESTART_ONLY = ["server", "store", "log", "metrics", "outbox", "audit"] as const;

function restartOnlyChanges(running: Config, next: Config): string[] {
  const { tls: _a, ...server } = running.server;
  const { tls: _b, ...nextServer } = next.server;
  return RESTART_ONLY.filter((key) =>
    key === "server" ? JSON.stringify(server) !== JSON.stringify(nextServer) : JSON.stringify(running[key]) !== JSON.stringify(next[key]),
  );
}

/** How long in-flight requests may run on at shutdown: the longest vendor deadline, plus a margin. */
function graceMsOf(config: Config): number {
  return Math.max(5_000, ...config.targets.map((t) => t.vendor?.deadlineMs ?? 0)) + 5_000;
}

export async function startBridge(
  config: Config,
  options: { log?: Logger; stores?: Stores; provisioners?: Map<string, Provisioner> } = {},
): Promise<RunningBridge> {
  sealSharedPrototypes();
  const log = options.log ?? createLogger(config.log.level);
  const stores = options.stores ?? (await openStores(config.store, log));
  const metrics = config.metrics.enabled
    ? createMetrics({
        targets: config.targets.map((t) => t.name),
        onCollectorError: (error) => log.warn("metrics: outbox snapshot failed", { error: (error as Error).message }),
      })
    : undefined;
  if (metrics) collectOutbox(metrics, stores.outbox);
  const events = metrics ? eventsOf(metrics) : {};
  let targets: TargetProvisioners | undefined;
  let stopRetention = () => {};
  let server: Server | undefined;
  let metricsServer: Server | undefined;
  const drain = new Drain();
  const separateMetrics = metrics && config.metrics.port !== undefined;
  try {
    targets = options.provisioners ? undefined : buildProvisioners(config, stores, log, process.env, events);
    stopRetention = scheduleAuditRetention(stores.trail, config.audit.retainDays, log);
    const live = new LiveTargets(config, options.provisioners ?? targets?.provisioners, targets?.deliveries);
    const status = { path: STATUS_MOUNT, router: statusRoutes(live, stores, log) };
    const app = createApp({ config, stores, log, drain, metrics, serveMetrics: !!metrics && !separateMetrics, live, mounts: [status] });
    server = await listen(app, config.server.port, config.server.host, { tls: config.server.tls, keys: "server.port / PORT, server.host / HOST" });
    // Keep connections open a little longer than typical load balancers do.
    server.keepAliveTimeout = 65_000;
    if (separateMetrics) {
      const side = express();
      side.disable("x-powered-by");
      side.get("/metrics", metricsHandler(metrics));
      metricsServer = await listen(side, config.metrics.port!, config.metrics.host, { keys: "metrics.port, metrics.host" });
    }
    targets?.worker.start();
    return running(config, {
      log,
      stores,
      metrics,
      server,
      metricsServer,
      drain,
      live,
      targets,
      stopRetention,
      ownStore: !options.stores,
      events,
      fixed: !!options.provisioners,
    });
  } catch (error) {
    // Nothing half-started stays behind: the process can exit with the message.
    stopRetention();
    server?.close();
    metricsServer?.close();
    await targets?.close();
    if (!options.stores) await stores.admin.close().catch(() => undefined);
    throw error;
  }
}

interface Parts {
  log: Logger;
  stores: Stores;
  metrics?: BridgeMetrics;
  server: Server;
  metricsServer?: Server;
  drain: Drain;
  live: LiveTargets;
  targets?: TargetProvisioners;
  stopRetention(): void;
  ownStore: boolean;
  events: ProvisioningEvents;
  /** Provisioners given by the caller (tests): a reload replaces tokens only. */
  fixed: boolean;
}

function running(config: Config, parts: Parts): RunningBridge {
  const { log, stores, metrics, server, metricsServer, drain, live, stopRetention } = parts;
  let targets = parts.targets;
  const scheme = config.server.tls ? "https" : "http";
  const url = config.server.publicUrl?.replace(/\/$/, "") ?? urlOf(server, config.server.host, scheme);
  const metricsUrl = metrics ? `${metricsServer ? urlOf(metricsServer, config.metrics.host) : url}/metrics` : undefined;
  log.info("bridge listening", {
    version: VERSION,
    url,
    tls: !!config.server.tls,
    store: stores.admin.kind,
    targets: config.targets.map((t) => t.name),
    ...(metricsUrl ? { metrics: metricsUrl } : {}),
    ...(config.status.adminTokens.length > 0 ? { status: `${url}/status` } : {}),
  });
  /** Old targets' vendor connections close once requests that may still use them are over (or at shutdown). */
  const retired = new Set<TargetProvisioners>();
  const retire = (old: TargetProvisioners) => {
    if (!retired.delete(old)) return Promise.resolve();
    return old.close();
  };

  async function reload(load: () => Config): Promise<boolean> {
    let next: Config;
    let built: TargetProvisioners | undefined;
    try {
      next = load();
      if (JSON.stringify(next.store) !== JSON.stringify(live.current.config.store)) throw new Error("store: a different store needs a restart");
      if (!!next.server.tls !== !!config.server.tls) throw new Error("server.tls: switching between HTTP and HTTPS needs a restart");
      const tls = next.server.tls ? readTls(next.server.tls) : undefined;
      built = parts.fixed ? undefined : buildProvisioners(next, stores, log, process.env, parts.events);
      if (tls) (server as HttpsServer).setSecureContext(tls);
    } catch (error) {
      log.error("configuration reload refused; the running configuration stays", { problem: (error as Error).message });
      return false;
    }
    const previous = targets;
    if (built) {
      live.replace(next, built.provisioners, built.deliveries);
      targets = built;
      built.worker.start();
    } else live.replace(next, live.current.provisioners, live.current.deliveries);
    if (previous) {
      const grace = graceMsOf(live.current.config);
      retired.add(previous);
      void previous.worker
        .stop(grace)
        .then(() => new Promise((resolve) => setTimeout(resolve, grace).unref()))
        .then(() => retire(previous));
    }
    const restart = restartOnlyChanges(config, next);
    log.info("configuration reloaded", { targets: next.targets.map((t) => t.name), ...(next.server.tls ? { tls: "certificate read again" } : {}) });
    if (restart.length > 0) log.warn("configuration reload: these settings take effect at the next start", { settings: restart });
    return true;
  }

  return {
    url,
    scimBaseUrl: `${url}/scim/v2`,
    server,
    stores,
    metrics,
    metricsUrl,
    log,
    reload,
    /**
     * Stops intake at once (new connections refused, requests on kept-alive ones answered 503 with
     * Connection: close), lets requests in flight finish within the longest vendor deadline plus a margin,
     * then stops the outbox worker (its runs in flight finish within the same bound; the rest stays in the
     * outbox for the next start or another replica), then closes every socket, the vendor connections and
     * the store.
     */
    async close() {
      log.info("shutdown: stopping intake, finishing requests in flight");
      stopRetention();
      server.close();
      server.closeIdleConnections();
      const grace = graceMsOf(live.current.config);
      const [unfinished, outbox] = await Promise.all([drain.start(grace), targets ? targets.worker.stop(grace) : Promise.resolve({ finished: 0, cutOff: 0 })]);
      if (unfinished > 0) log.warn("shutdown: requests still running after the grace period were cut off", { unfinished });
      log.info("shutdown: outbox stopped", { runsFinished: outbox.finished, runsCutOff: outbox.cutOff, note: "work not finished stays in the outbox" });
      server.closeAllConnections();
      metricsServer?.closeAllConnections();
      metricsServer?.close();
      await targets?.close();
      await Promise.all([...retired].map(retire));
      if (parts.ownStore) await stores.admin.close();
      log.info("shutdown: complete");
    },
  };
}

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
import { buildProvisioners } from "./provisioning/targets";
import { openStore } from "./store/open";
import type { Store } from "./store/types";

export interface RunningBridge {
  url: string;
  scimBaseUrl: string;
  server: Server;
  store: Store;
  close(): Promise<void>;
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
  const targets = options.provisioners ? undefined : buildProvisioners(config, store, log);
  const stopRetention = scheduleAuditRetention(store, config.audit.retainDays, log);
  const drain = new Drain();
  const app = createApp({ config, store, log, drain, provisioners: options.provisioners ?? targets?.provisioners });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.server.port, config.server.host, () => resolve(s));
    s.once("error", reject);
  });
  // Keep connections open a little longer than typical load balancers do.
  server.keepAliveTimeout = 65_000;
  const { port } = server.address() as AddressInfo;
  const host = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
  const url = config.server.publicUrl?.replace(/\/$/, "") ?? `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  log.info("bridge listening", { url, store: store.kind, targets: config.targets.map((t) => t.name) });
  return {
    url,
    scimBaseUrl: `${url}/scim/v2`,
    server,
    store,
    /**
     * Stops intake at once (new connections refused, requests on kept-alive ones answered 503 with
     * Connection: close), lets requests in flight finish within the longest vendor deadline plus a margin,
     * then closes every socket, the vendor connections and the store.
     */
    async close() {
      stopRetention();
      server.close();
      server.closeIdleConnections();
      const unfinished = await drain.start(graceMsOf(config));
      if (unfinished > 0) log.warn("shutdown: requests still running after the grace period were cut off", { unfinished });
      server.closeAllConnections();
      await targets?.close();
      if (!options.store) await store.close();
    },
  };
}

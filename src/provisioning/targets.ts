/** The provisioner of every configured target: store-only, or a vendor connection built from its mapping file. */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { Config, TargetConfig } from "../config/schema";
import type { Logger } from "../log";
import { loadMapping, type CompiledMapping } from "../mapping/compile";
import type { Stores } from "../store/stores";
import { createConnector, credentialsOf, protocolOf, VendorConfigError } from "./connectors";
import type { VendorConnector } from "../vendors/types";
import type { Provisioner } from "./provisioner";
import { KeyedLock } from "../lib/keyed-lock";
import { orderOf, type ChangeOrder, type DeliveryOutcome, type RetryPolicy } from "./outbox";
import { OutboxWorker, type OutboxTarget, type WorkerEvents } from "./outbox-worker";
import { CredentialGovernor, limitsByCredential, type GovernorEvents } from "./rate-limiter";
import { VendorProvisioner } from "./vendor-provisioner";
import type { WorkOrder } from "../store/types";

/** A vendor target's users, as the SCIM side hands them to the outbox. */
export interface Delivery {
  /** The work a change records with it. */
  order(change: ChangeOrder): WorkOrder;
  /** Runs the change just recorded and waits for it, up to the target's answer window. */
  settle(scimId: string, request: { requestId: string; password?: string }): Promise<DeliveryOutcome>;
  /**
   * Runs the work a membership change recorded for these users, one after another, all within one answer
   * window; what is not done by then stays pending for the worker. Each user's outcome shows on the user.
   */
  settleAll(scimIds: string[], request: { requestId: string }): Promise<void>;
  /** onVendorDelay: fail — a change the vendor has not taken is undone and the request fails. */
  strict: boolean;
}

/** What metrics the provisioning side reports to (all optional). */
export interface ProvisioningEvents extends GovernorEvents, WorkerEvents {
  vendorCall?(vendor: string, action: string, outcome: string, seconds: number): void;
  /** A vendor call failed inside the bridge's own code (a bug), by target and operation. */
  vendorCallBug?(target: string, operation: string): void;
}

export interface TargetProvisioners {
  provisioners: Map<string, Provisioner>;
  vendorProvisioners: Map<string, VendorProvisioner>;
  deliveries: Map<string, Delivery>;
  /** The process's outbox worker (not started: startBridge starts it). */
  worker: OutboxWorker;
  close(): Promise<void>;
}

function retryPolicyOf(connection: TargetConfig["vendor"] & object): RetryPolicy {
  const { firstDelayMs, maxDelayMs, deprovisionMaxDelayMs, horizonHours } = connection.retry;
  return { firstDelayMs, maxDelayMs, deprovisionMaxDelayMs, horizonMs: Math.round(horizonHours * 3_600_000) };
}

const mappings = new Map<string, CompiledMapping>();

/** Mapping files are compiled once, however many targets use them. */
export function mappingAt(path: string): CompiledMapping {
  const full = resolve(path);
  let compiled = mappings.get(full);
  if (!compiled) mappings.set(full, (compiled = loadMapping(full)));
  return compiled;
}

/** The target's settings against its mapping, as `serve` checks them at start. */
export function checkSettings(target: TargetConfig, mapping: CompiledMapping): void {
  const given = target.vendor!.settings;
  const missing = mapping.requiredSettings().filter((name) => !given[name]);
  if (missing.length > 0)
    throw new VendorConfigError(
      `targets.${target.name}.vendor.settings: ${mapping.source} needs ${missing.join(", ")} (${missing.map((m) => mapping.file.settings[m]!.description).join("; ")})`,
    );
  if (target.vendor!.adoptOnlyIf === "emailMatches" && !mapping.file.operations.lookup?.email)
    throw new VendorConfigError(`targets.${target.name}.vendor.adoptOnlyIf: ${mapping.source} has no lookup.email rule to compare emails with`);
}

/**
 * A vendor account, as far as the bridge can tell: the vendor and the credential's key id (never its
 * secret). Targets sharing one can see each other's vendor users, so a vendor user linked by one of them
 * is never adopted by another. Settings (instance, zone, store) are left out on purpose: counting two
 * targets as one account costs at worst a 409 on a key collision, the other way round a stolen account.
 * Hashed, so the key id is not kept in lock names or logs.
 */
function vendorAccountOf(credential: string): string {
  return createHash("sha256").update(credential).digest("hex").slice(0, 32);
}

export function buildProvisioners(
  config: Config,
  stores: Stores,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
  events: ProvisioningEvents = {},
): TargetProvisioners {
  const provisioners = new Map<string, Provisioner>();
  const vendorProvisioners = new Map<string, VendorProvisioner>();
  const deliveries = new Map<string, Delivery>();
  const outboxTargets = new Map<string, OutboxTarget>();
  const worker = new OutboxWorker(stores.outbox, stores.admin, outboxTargets, config.outbox, log, events);
  const connectors: VendorConnector[] = [];
  try {
    const vendorTargets = config.targets.flatMap((target) => {
      const connection = target.vendor;
      if (!connection) return [];
      const mapping = mappingAt(connection.mapping);
      checkSettings(target, mapping);
      const credential = `${mapping.vendor}:${Object.values(credentialsOf(protocolOf(mapping, connection), connection, env))[0]!}`;
      return [{ target, connection, mapping, credential, account: vendorAccountOf(credential) }];
    });
    const limits = limitsByCredential(vendorTargets.map((t) => ({ credential: t.account, limit: t.connection.rateLimit })));
    const governors = new Map<string, CredentialGovernor>();
    const adoptionLock = new KeyedLock();
    for (const { target, connection, mapping, account } of vendorTargets) {
      const circuit = {
        ...connection.circuit,
        probeMs: connection.deadlineMs + 1_000,
        probeEveryMs: Math.min(connection.circuit.probeEveryMs, connection.retry.deprovisionMaxDelayMs),
      };
      const accountTargets = vendorTargets.filter((t) => t.account === account).map((t) => t.target.name);
      // One governor per credential (the account hash names it: never the key id itself). When its circuit
      // closes, the work of every target on the credential is released.
      if (!governors.has(account))
        governors.set(
          account,
          new CredentialGovernor(stores.credentials, `c-${account.slice(0, 12)}`, limits.get(account)!, circuit, {
            ...events,
            recovered: () => void worker.release(accountTargets),
          }),
        );
      const connector = createConnector(mapping, connection, env);
      connectors.push(connector);
      const provisioner = new VendorProvisioner({
        target: target.name,
        mapping,
        connector,
        connection,
        governor: governors.get(account)!,
        called: events.vendorCall?.bind(events),
        internalError: events.vendorCallBug?.bind(events),
        resources: stores.resources,
        members: stores.members,
        links: stores.links,
        trail: stores.trail,
        locks: stores.admin,
        log,
        account,
        accountTargets,
        adoptionLock,
      });
      provisioners.set(target.name, provisioner);
      vendorProvisioners.set(target.name, provisioner);
      const retry = retryPolicyOf(connection);
      outboxTargets.set(target.name, { deliver: (id, step, removedDoc) => provisioner.deliver(id, step, removedDoc), retry, runMs: connection.deadlineMs });
      const strict = connection.onVendorDelay === "fail";
      const waitMs = strict ? connection.deadlineMs + 1_000 : connection.answerWithinMs;
      deliveries.set(target.name, {
        order: (change) => orderOf(retry, change),
        settle: (scimId, request) => worker.settle(target.name, scimId, { ...request, waitMs }),
        settleAll: async (scimIds, request) => {
          const until = performance.now() + waitMs;
          for (const scimId of scimIds) {
            const left = until - performance.now();
            if (left <= 0) return;
            await worker.settle(target.name, scimId, { ...request, waitMs: left });
          }
        },
        strict,
      });
    }
  } catch (error) {
    void Promise.all(connectors.map((c) => c.close()));
    throw error;
  }
  return {
    provisioners,
    vendorProvisioners,
    deliveries,
    worker,
    async close() {
      await Promise.all(connectors.map((c) => c.close()));
    },
  };
}

/** The provisioner of every configured target: store-only, or a vendor connection built from its mapping file. */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { Config, TargetConfig } from "../config/schema";
import type { Logger } from "../log";
import { loadMapping, type CompiledMapping } from "../mapping/compile";
import type { Store } from "../store/types";
import { createConnector, credentialsOf, protocolOf, VendorConfigError } from "../vendors/factory";
import type { VendorConnector } from "../vendors/types";
import type { Provisioner } from "./provisioner";
import { KeyedLock } from "./keyed-lock";
import { bucketsByCredential } from "./rate-limiter";
import { VendorProvisioner } from "./vendor-provisioner";

export interface TargetProvisioners {
  provisioners: Map<string, Provisioner>;
  vendorProvisioners: Map<string, VendorProvisioner>;
  close(): Promise<void>;
}

const mappings = new Map<string, CompiledMapping>();

/** Mapping files are compiled once, however many targets use them. */
export function mappingAt(path: string): CompiledMapping {
  const full = resolve(path);
  let compiled = mappings.get(full);
  if (!compiled) mappings.set(full, (compiled = loadMapping(full)));
  return compiled;
}

function checkSettings(target: TargetConfig, mapping: CompiledMapping): void {
  const given = target.vendor!.settings;
  const missing = mapping.requiredSettings().filter((name) => !given[name]);
  if (missing.length > 0)
    throw new VendorConfigError(`targets.${target.name}.vendor.settings: ${mapping.source} needs ${missing.join(", ")} (${missing.map((m) => mapping.file.settings[m]!.description).join("; ")})`);
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

export function buildProvisioners(config: Config, store: Store, log: Logger, env: NodeJS.ProcessEnv = process.env): TargetProvisioners {
  const provisioners = new Map<string, Provisioner>();
  const vendorProvisioners = new Map<string, VendorProvisioner>();
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
    const buckets = bucketsByCredential(vendorTargets.map((t) => ({ credential: t.credential, limit: t.connection.rateLimit })));
    const adoptionLock = new KeyedLock();
    for (const { target, connection, mapping, credential, account } of vendorTargets) {
      const connector = createConnector(mapping, connection, env);
      connectors.push(connector);
      const accountTargets = vendorTargets.filter((t) => t.account === account).map((t) => t.target.name);
      const provisioner = new VendorProvisioner({
        target: target.name,
        mapping,
        connector,
        connection,
        bucket: buckets.get(credential)!,
        store,
        log,
        account,
        accountTargets,
        adoptionLock,
      });
      provisioners.set(target.name, provisioner);
      vendorProvisioners.set(target.name, provisioner);
    }
  } catch (error) {
    void Promise.all(connectors.map((c) => c.close()));
    throw error;
  }
  return {
    provisioners,
    vendorProvisioners,
    async close() {
      await Promise.all(connectors.map((c) => c.close()));
    },
  };
}

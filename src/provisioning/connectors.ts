/**
 * A target's connector, built from its mapping and its config: the mapping's protocol (or the target's
 * signature override), the endpoint with the target's overrides, credentials from the environment.
 */
import { envValue } from "../config/env";
import type { VendorConnection } from "../config/schema";
import type { CompiledMapping } from "../mapping/compile";
import { envelopeOf, PROTOCOL_REGISTRY, type Protocol } from "../vendors/protocols";
import type { Endpoint, VendorConnector } from "../vendors/types";

export class VendorConfigError extends Error {}

/** Reads each credential from the environment variable the config names (or its *_FILE); a missing one is an error that names it. */
export function credentialsOf(protocol: Protocol, connection: VendorConnection, env: NodeJS.ProcessEnv): Record<string, string> {
  const keys = PROTOCOL_REGISTRY[protocol].credentials;
  const out: Record<string, string> = {};
  for (const key of [...keys.required, ...keys.optional]) {
    const variable = connection.credentials[key];
    if (variable === undefined) {
      if (keys.required.includes(key)) throw new VendorConfigError(`vendor.credentials.${key}: name the environment variable that holds it`);
      continue;
    }
    let value: string | undefined;
    try {
      value = envValue(env, variable);
    } catch (error) {
      throw new VendorConfigError(`vendor.credentials.${key}: ${(error as Error).message}`);
    }
    if (!value) throw new VendorConfigError(`vendor.credentials.${key}: environment variable ${variable} is not set (nor ${variable}_FILE)`);
    out[key] = value;
  }
  const unknown = Object.keys(connection.credentials).filter((k) => !keys.required.includes(k) && !keys.optional.includes(k));
  if (unknown.length > 0)
    throw new VendorConfigError(
      `vendor.credentials: the ${protocol} protocol takes ${[...keys.required, ...keys.optional].join(", ")}, not ${unknown.join(", ")}`,
    );
  return out;
}

export function endpointOf(mapping: CompiledMapping, connection: VendorConnection): Endpoint {
  const api = mapping.file.api;
  const host = connection.host ?? api.host;
  return {
    host,
    connectTo: typeof connection.connectTo === "string" ? { [host]: connection.connectTo } : (connection.connectTo ?? {}),
    allowInsecureHttp: connection.allowInsecureHttp,
    region: connection.region ?? api.region,
    version: connection.version ?? api.version,
    service: api.service,
    timeouts: connection.timeouts,
  };
}

/** The protocol a target speaks: its mapping's, or for Alibaba the target's signature override. */
export function protocolOf(mapping: CompiledMapping, connection: VendorConnection): Protocol {
  const protocol = mapping.file.api.protocol;
  if (connection.signature && (protocol === "aliyun-rpc-v2" || protocol === "aliyun-acs3"))
    return connection.signature === "v3" ? "aliyun-acs3" : "aliyun-rpc-v2";
  return protocol;
}

export function createConnector(mapping: CompiledMapping, connection: VendorConnection, env: NodeJS.ProcessEnv = process.env): VendorConnector {
  const protocol = protocolOf(mapping, connection);
  const credentials = credentialsOf(protocol, connection, env);
  return PROTOCOL_REGISTRY[protocol].connector(
    mapping.vendor,
    endpointOf(mapping, connection),
    mapping.file.errors,
    envelopeOf(protocol, mapping.file.api.envelope),
    credentials,
    { tokenPath: mapping.file.api.tokenPath },
  );
}

/** Where the configuration comes from: a YAML file (flag or SCIM_BRIDGE_CONFIG), or the embedded defaults. */
import { ConfigSchema, type Config } from "./schema";
import { loadYamlFile } from "./yaml-file";

export const CONFIG_ENV = "SCIM_BRIDGE_CONFIG";

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  return loadYamlFile(file, ConfigSchema, { env });
}

/** Validates a config given as data (tests, embedded defaults) with the same rules as a file. */
export function configFrom(data: unknown): Config {
  return ConfigSchema.parse(data);
}

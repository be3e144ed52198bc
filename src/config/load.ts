/** Where the configuration comes from: a YAML file (flag or SCIM_BRIDGE_CONFIG), or the embedded defaults. */
import { StartError } from "../start-error";
import { ConfigSchema, type Config } from "./schema";
import { FileValidationError, formatIssue, loadYamlFile, type FileIssue, type Path } from "./yaml-file";

export const CONFIG_ENV = "SCIM_BRIDGE_CONFIG";

/** targets[i].vendor.credentials.* name environment variables: they are never substituted. */
const isCredential = (path: Path) => path.length === 5 && path[0] === "targets" && path[2] === "vendor" && path[3] === "credentials";

/** Settings that no longer do anything: a file that still sets one loads, with a warning naming it. */
function retired(path: Path): string | undefined {
  if (path.length === 5 && path[0] === "targets" && path[2] === "vendor" && path[3] === "rateLimit" && path[4] === "burst")
    return "has no effect (calls are spaced evenly at rateLimit.perSecond, with no burst); remove it";
  return undefined;
}

/** Where a warning about the file goes unless the caller says otherwise: stderr, before any log exists. */
const toStderr = (issue: FileIssue) => void process.stderr.write(`warning: ${formatIssue(issue)}\n`);

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, warn: (issue: FileIssue) => void = toStderr): Config {
  return withListenEnv(loadYamlFile(file, ConfigSchema, { env, literal: isCredential, retired, warn }), env);
}

/**
 * HOST and PORT, when set, win over `server.host` and `server.port` (container platforms say where to
 * listen through them), in config mode as in the demo. A PORT that is not a port number stops the start.
 */
export function withListenEnv(config: Config, env: NodeJS.ProcessEnv): Config {
  const server = { ...config.server };
  if (env.PORT !== undefined && env.PORT !== "") {
    const port = /^\d{1,5}$/.test(env.PORT) ? Number(env.PORT) : NaN;
    if (!(port >= 0 && port <= 65535)) throw new StartError(`PORT='${env.PORT.slice(0, 20)}' is not a port number (0-65535)`);
    server.port = port;
  }
  if (env.HOST !== undefined && env.HOST !== "") server.host = env.HOST;
  return { ...config, server };
}

/** Validates a config given as data (tests, embedded defaults) with the same rules as a file. */
export function configFrom(data: unknown): Config {
  const parsed = ConfigSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new FileValidationError(parsed.error.issues.map((issue) => ({ file: "configuration", key: issue.path.map(String).join("."), message: issue.message })));
}

/** The defaults with HOST and PORT applied: where a bridge without a config file listens (one placeholder target). */
export function defaultsWithListenEnv(env: NodeJS.ProcessEnv): Config {
  return withListenEnv(configFrom({ targets: [{ name: "default", tokens: [{ sha256: "0".repeat(64) }] }] }), env);
}

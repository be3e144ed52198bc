/**
 * Reading environment variables the way container platforms provide them: `NAME` itself, or, when that
 * is unset, the contents of the file `NAME_FILE` names (Docker and Kubernetes secrets are mounted as
 * files). A value read here is never put into a message: errors name the variable and the file only.
 */
import { readFileSync } from "node:fs";

export class EnvFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvFileError";
  }
}

/** The value of `name` (or of the file `${name}_FILE` names, without its final newline); undefined when neither is set. */
export function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== "") return direct;
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new EnvFileError(`${name}_FILE names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const value = text.replace(/\r?\n$/, "");
  return value === "" ? undefined : value;
}

/** `mappings check [file…]` and `mappings preview --target NAME user.json`. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import { FileValidationError } from "../config/yaml-file";
import { loadMapping } from "../mapping/compile";
import { MASK } from "../log";
import { buildVendorCall } from "../provisioning/vendor-provisioner";
import { mappingAt } from "../provisioning/targets";
import { VendorRefusal } from "../provisioning/refusal";
import { InvalidScimInput } from "../scim-model/invalid-input";
import { createConnector } from "../provisioning/connectors";
import { rfc3986 } from "../vendors/signing/crypto";

export interface CommandResult {
  code: number;
  out: string[];
}

export function mappingFiles(dir = "mappings"): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((f) => join(dir, f));
}

/** Validates each file; every problem is reported as file:line: key: message. */
export function mappingsCheck(files: string[]): CommandResult {
  const out: string[] = [];
  let failed = 0;
  for (const file of files.length > 0 ? files : mappingFiles()) {
    try {
      const m = loadMapping(file);
      out.push(`ok      ${file} (${m.vendor}: ${Object.keys(m.file.operations).join(", ")})`);
    } catch (error) {
      failed++;
      if (error instanceof FileValidationError) out.push(`invalid ${file}`, ...error.message.split("\n").map((l) => `  ${l}`));
      else out.push(`invalid ${file}: ${(error as Error).message}`);
    }
  }
  return { code: failed > 0 ? 1 : 0, out };
}

/** The exact HTTP request a SCIM user would produce at the target's vendor, secrets masked, not sent. */
export async function mappingsPreview(
  config: Config,
  targetName: string,
  userFile: string,
  operation = "create",
  env: NodeJS.ProcessEnv = process.env,
): Promise<CommandResult> {
  const target = config.targets.find((t) => t.name === targetName);
  if (!target) return { code: 2, out: [`no target '${targetName}' in the config (targets: ${config.targets.map((t) => t.name).join(", ")})`] };
  if (!target.vendor) return { code: 2, out: [`target '${targetName}' is store-only: nothing is sent anywhere`] };
  const mapping = mappingAt(target.vendor.mapping);
  const connector = createConnector(mapping, target.vendor, env);
  try {
    const user = JSON.parse(readFileSync(userFile, "utf8")) as Record<string, unknown>;
    const { password, ...doc } = user;
    const call = buildVendorCall(
      mapping,
      target.vendor,
      operation,
      { id: "00000000-0000-4000-8000-000000000000", ...doc },
      { password: typeof password === "string" ? password : undefined },
    );
    const request = await connector.prepare(call, new Date(), true);
    // Each secret as sent: raw, JSON-escaped and percent-encoded.
    const secrets = new Set(
      call.secretParams.flatMap((p) => {
        const raw = String(call.params[p]);
        return [raw, JSON.stringify(raw).slice(1, -1), rfc3986(raw)];
      }),
    );
    const mask = (text: string) => [...secrets].reduce((t, s) => t.split(s).join(MASK), text).replace(/(Signature=|Bearer )[^\s,&"<]+/g, `$1${MASK}`);
    const out = [`${request.method} https://${request.host}${mask(request.path)}`];
    for (const [name, value] of Object.entries(request.headers)) out.push(`${name}: ${name === "authorization" ? mask(value) : value}`);
    if (request.body) out.push("", mask(request.body));
    return { code: 0, out };
  } catch (error) {
    if (error instanceof InvalidScimInput || error instanceof VendorRefusal) return { code: 1, out: [`this user cannot be sent: ${error.message}`] };
    throw error;
  } finally {
    await connector.close();
  }
}

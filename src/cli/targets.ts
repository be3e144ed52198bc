/**
 * `targets check [NAME]`: each target's settings checked as `serve` checks them, then one read-only vendor
 * call proves its credentials and ids. The write permissions the bridge needs cannot be proven without
 * changing something at the vendor: they are listed as not proven.
 */
import type { Config } from "../config/schema";
import type { CompiledMapping } from "../mapping/compile";
import { checkSettings, mappingAt } from "../provisioning/targets";
import { createConnector } from "../provisioning/connectors";
import type { CommandResult } from "./mappings";

/** Operations that only read at the vendor; the others need write permissions. */
const READ_ONLY = new Set(["check", "list", "lookup", "findGroup"]);

function unproven(mapping: CompiledMapping): string {
  const writes = Object.entries(mapping.file.operations)
    .filter(([name]) => !READ_ONLY.has(name))
    .map(([name, op]) => `${name} (${op.call})`);
  return `        not proven (write calls, made only when needed): ${writes.join(", ")}`;
}

export async function targetsCheck(config: Config, name?: string, env: NodeJS.ProcessEnv = process.env): Promise<CommandResult> {
  const targets = config.targets.filter((t) => name === undefined || t.name === name);
  if (targets.length === 0) return { code: 2, out: [`no target '${name}' in the config`] };
  const out: string[] = [];
  let failed = 0;
  for (const target of targets) {
    if (!target.vendor) {
      out.push(`ok      ${target.name}: store-only, nothing to check`);
      continue;
    }
    try {
      const mapping = mappingAt(target.vendor.mapping);
      checkSettings(target, mapping);
      const connector = createConnector(mapping, target.vendor, env);
      try {
        const settings = mapping.settingsWithDefaults(target.vendor.settings);
        const call = mapping.build("check", { user: {}, settings });
        const outcome = await connector.invoke(call, AbortSignal.timeout(target.vendor.deadlineMs));
        const requestId = outcome.requestId ? ` (RequestId ${outcome.requestId})` : "";
        if (outcome.kind === "success") out.push(`ok      ${target.name}: ${mapping.vendor} ${call.call} answered${requestId}`, unproven(mapping));
        else {
          failed++;
          out.push(`failed  ${target.name}: ${mapping.vendor} ${call.call}: ${outcome.kind} ${outcome.code}: ${outcome.message}${requestId}`);
        }
      } finally {
        await connector.close();
      }
    } catch (error) {
      failed++;
      out.push(`failed  ${target.name}: ${(error as Error).message}`);
    }
  }
  return { code: failed > 0 ? 1 : 0, out };
}

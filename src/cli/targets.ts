/** `targets check [NAME]`: one read-only vendor call per target proves its credentials and ids. */
import type { Config } from "../config/schema";
import { mappingAt } from "../provisioning/targets";
import { createConnector } from "../vendors/factory";
import type { CommandResult } from "./mappings";

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
      const connector = createConnector(mapping, target.vendor, env);
      try {
        const settings = mapping.settingsWithDefaults(target.vendor.settings);
        const call = mapping.build("check", { user: {}, settings });
        const outcome = await connector.invoke(call, AbortSignal.timeout(target.vendor.deadlineMs));
        if (outcome.kind === "success")
          out.push(`ok      ${target.name}: ${mapping.vendor} ${call.call} answered${outcome.requestId ? ` (RequestId ${outcome.requestId})` : ""}`);
        else {
          failed++;
          out.push(
            `failed  ${target.name}: ${mapping.vendor} ${call.call}: ${outcome.kind} ${outcome.code}: ${outcome.message}${outcome.requestId ? ` (RequestId ${outcome.requestId})` : ""}`,
          );
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

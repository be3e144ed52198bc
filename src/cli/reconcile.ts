/** `reconcile --target NAME [--fix]`: the drift report, and the repairs with --fix. */
import type { Config } from "../config/schema";
import { createLogger } from "../log";
import { formatReport, reconcile } from "../provisioning/reconcile";
import { buildProvisioners } from "../provisioning/targets";
import { openStore } from "../store/open";
import type { CommandResult } from "./mappings";

export async function reconcileCommand(config: Config, target: string, fix: boolean, env: NodeJS.ProcessEnv = process.env): Promise<CommandResult> {
  const store = await openStore(config.store);
  const built = buildProvisioners(config, store, createLogger("warn", process.stderr), env);
  try {
    const provisioner = built.vendorProvisioners.get(target);
    if (!provisioner) return { code: 2, out: [`target '${target}' has no vendor (or is not in the config)`] };
    const report = await reconcile(target, provisioner, store, { fix });
    const unfixed = report.drifts.filter((d) => d.fixed === false).length;
    return { code: unfixed > 0 || (!fix && report.drifts.length > 0) ? 1 : 0, out: formatReport(report) };
  } finally {
    await built.close();
    await store.close();
  }
}

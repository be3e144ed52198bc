/** `reconcile (--target NAME | --all) [--fix] [--since TIME] [--json]`: the drift report, and the repairs with --fix. */
import type { Config } from "../config/schema";
import { createLogger } from "../log";
import { formatReport, reconcile, type ReconcileReport } from "../provisioning/reconcile";
import { buildProvisioners } from "../provisioning/targets";
import { openStores } from "../store/open";
import type { CommandResult } from "./mappings";

export interface ReconcileOptions {
  fix: boolean;
  /** Only users the bridge changed (or created at the vendor) since then. */
  since?: Date;
  json?: boolean;
}

export async function reconcileCommand(
  config: Config,
  targets: string[],
  options: ReconcileOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CommandResult> {
  if (targets.length === 0) return { code: 2, out: ["no target in the config has a vendor"] };
  const stores = await openStores(config.store);
  const built = buildProvisioners(config, stores, createLogger("warn", process.stderr), env);
  try {
    const unknown = targets.filter((t) => !built.vendorProvisioners.has(t));
    if (unknown.length > 0) return { code: 2, out: unknown.map((t) => `target '${t}' has no vendor (or is not in the config)`) };
    const reports: ReconcileReport[] = [];
    for (const target of targets)
      reports.push(await reconcile(target, built.vendorProvisioners.get(target)!, stores, { fix: options.fix, since: options.since?.getTime() }));
    const drifts = reports.flatMap((r) => r.drifts);
    const unfixed = drifts.filter((d) => d.fixed === false).length;
    const code = unfixed > 0 || (!options.fix && drifts.length > 0) ? 1 : 0;
    return { code, out: options.json ? [JSON.stringify(reports)] : reports.flatMap(formatReport) };
  } finally {
    await built.close();
    await stores.admin.close();
  }
}

/**
 * `outbox list | show | retry | drop`: the vendor work the bridge still has to do, as an operator sees it.
 * Rows are named by the SCIM id of the user they are about.
 */
import type { Config } from "../config/schema";
import { viewOf } from "../provisioning/outbox";
import { openStore } from "../store/open";
import type { Store, WorkItem } from "../store/types";
import type { CommandResult } from "./mappings";

export interface OutboxArgs {
  sub: string | undefined;
  id?: string;
  target?: string;
  state?: string;
  failed: boolean;
  json: boolean;
}

const STATES = ["pending", "failed", "done"] as const;

function line(item: WorkItem): string {
  const view = viewOf(item);
  const what = item.deprovision ? "deprovision" : "change";
  const next = view.nextAttempt ? ` next=${view.nextAttempt}` : "";
  const code = view.vendorCode ? ` vendorCode=${view.vendorCode}` : "";
  return `${item.target}  ${item.scimId}  ${view.state.padEnd(7)} ${what.padEnd(11)} attempts=${item.attempts}${next}${code}  since=${new Date(item.firstAt).toISOString()}${view.reason ? `  ${view.reason}` : ""}`;
}

/** The row of `id`, in the given target or whichever target has it. */
async function find(store: Store, config: Config, id: string, target?: string): Promise<WorkItem | undefined> {
  for (const t of target ? [target] : config.targets.map((c) => c.name)) {
    const item = (await store.workOf(t, [id])).get(id);
    if (item) return item;
  }
  return undefined;
}

/** What the IdP believes (the SCIM user) and what the vendor holds (the link), for one row. */
async function standing(store: Store, item: WorkItem): Promise<string[]> {
  const user = await store.get(item.target, "User", item.scimId);
  const link = (await store.linksOf(item.target, [item.scimId])).get(item.scimId);
  const idp = user
    ? `the IdP believes the user exists and is ${user.doc.active === false ? "inactive" : "active"} (userName '${String(user.doc.userName)}')`
    : "the IdP believes the user is deleted";
  const vendor = link
    ? `the vendor holds ${link.vendorKey} as ${link.state}${link.deletedAt ? " (SCIM user deleted)" : ""}`
    : "the vendor holds no user the bridge knows of for it";
  return [`  ${idp}`, `  ${vendor}`];
}

export async function outboxCommand(config: Config, args: OutboxArgs): Promise<CommandResult> {
  if (args.target && !config.targets.some((t) => t.name === args.target)) return { code: 2, out: [`no target '${args.target}' in the config`] };
  if (args.state && !STATES.includes(args.state as WorkItem["state"])) return { code: 2, out: [`--state is one of ${STATES.join(", ")}`] };
  const store = await openStore(config.store);
  try {
    switch (args.sub) {
      case "list": {
        const items = await store.listWork({
          ...(args.target ? { target: args.target } : {}),
          ...(args.state ? { state: args.state as WorkItem["state"] } : {}),
          limit: 10_000,
        });
        if (args.json)
          return {
            code: 0,
            out: [
              JSON.stringify(
                items.map((i) => ({ target: i.target, scimId: i.scimId, deprovision: i.deprovision, since: new Date(i.firstAt).toISOString(), ...viewOf(i) })),
              ),
            ],
          };
        return { code: 0, out: items.length > 0 ? items.map(line) : ["the outbox is empty"] };
      }
      case "show": {
        if (!args.id) return { code: 2, out: ["outbox show ID"] };
        const item = await find(store, config, args.id, args.target);
        if (!item) return { code: 1, out: [`no outbox row for '${args.id}'`] };
        const calls = await store.vendorCalls(item.target, { scimId: item.scimId, limit: 10 });
        return {
          code: 0,
          out: [
            line(item),
            ...(await standing(store, item)),
            ...(viewOf(item).remedy ? [`  what to do: ${viewOf(item).remedy}`] : []),
            ...calls.map((c) => `  ${c.at} ${c.outcome} ${c.operation} (${c.call})${c.code ? ` ${c.code}` : ""} requestId=${c.requestId}`),
          ],
        };
      }
      case "retry": {
        const horizonOf = (target: string) => Math.round((config.targets.find((t) => t.name === target)?.vendor?.retry.horizonHours ?? 24) * 3_600_000);
        if (args.failed) {
          if (!args.target) return { code: 2, out: ["outbox retry --target NAME --failed"] };
          const n = await store.redriveWork(args.target, { failed: true }, horizonOf(args.target));
          return { code: 0, out: [`${n} failed ${n === 1 ? "row is" : "rows are"} due again; a running bridge picks ${n === 1 ? "it" : "them"} up`] };
        }
        if (!args.id) return { code: 2, out: ["outbox retry ID | --target NAME --failed"] };
        const item = await find(store, config, args.id, args.target);
        if (!item) return { code: 1, out: [`no outbox row for '${args.id}'`] };
        const n = await store.redriveWork(item.target, { scimId: item.scimId }, horizonOf(item.target));
        return { code: 0, out: [n > 0 ? `${item.scimId} is due again; a running bridge picks it up` : `${item.scimId} has nothing left to do`] };
      }
      case "drop": {
        if (!args.id) return { code: 2, out: ["outbox drop ID"] };
        const item = await find(store, config, args.id, args.target);
        if (!item) return { code: 1, out: [`no outbox row for '${args.id}'`] };
        await store.dropWork(item.target, item.scimId);
        const warning =
          item.deprovision && item.state !== "done"
            ? ["  WARNING: this was a deprovisioning: the vendor user may still have access. Remove it at the vendor by hand."]
            : [];
        return {
          code: 0,
          out: [
            `dropped: ${line(item)}`,
            ...(await standing(store, item)),
            ...warning,
            "  the bridge will not deliver it; the next change of the user records new work",
          ],
        };
      }
      default:
        return { code: 2, out: ["outbox list [--target T] [--state pending|failed] [--json] | show ID | retry ID|--target T --failed | drop ID"] };
    }
  } finally {
    await store.close();
  }
}

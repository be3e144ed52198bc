/** `audit --target NAME [--user ID_OR_USERNAME] [--since TIME] [--limit N] [--json]`: the vendor calls the bridge made, newest first. */
import type { Config } from "../config/schema";
import { openStores } from "../store/open";
import type { Stores } from "../store/stores";
import type { VendorCallRecord, WorkItem } from "../store/types";
import { viewOf } from "../provisioning/outbox";
import type { CommandResult } from "./mappings";

/** A SCIM id, or a userName the bridge provisioned (the link keeps it, also after the user is deleted). */
async function subjectOf(stores: Pick<Stores, "resources" | "links">, target: string, user: string): Promise<string | undefined> {
  if (await stores.resources.get(target, "User", user)) return user;
  const wanted = user.toLowerCase();
  return (await stores.links.all(target)).find((l) => l.scimId === user || l.userName.toLowerCase() === wanted)?.scimId;
}

export function formatCall(c: VendorCallRecord): string {
  const refusal = c.code ? ` ${c.code}` : "";
  const vendorId = c.vendorRequestId ? ` vendorRequestId=${c.vendorRequestId}` : "";
  return `${c.at}  ${c.outcome.padEnd(9)} ${c.operation} (${c.call})${refusal}  scimId=${c.scimId ?? "-"} requestId=${c.requestId}${vendorId} attempts=${c.attempts} ms=${c.ms}`;
}

function viewLine(item: WorkItem): string {
  const view = viewOf(item);
  return [
    view.state,
    `attempts=${item.attempts}`,
    view.nextAttempt ? `next=${view.nextAttempt}` : "",
    view.vendorCode ? `vendorCode=${view.vendorCode}` : "",
    view.reason ?? "",
  ]
    .filter(Boolean)
    .join(" ");
}

export interface AuditOptions {
  user?: string;
  limit: number;
  /** Only calls made since then. */
  since?: Date;
  json?: boolean;
}

/** With --since, calls are read back this far to find those within the window (the trail is newest first). */
const SINCE_SCAN = 100_000;

export async function auditCommand(config: Config, target: string, options: AuditOptions): Promise<CommandResult> {
  if (!config.targets.some((t) => t.name === target)) return { code: 2, out: [`no target '${target}' in the config`] };
  const stores = await openStores(config.store);
  try {
    const scimId = options.user === undefined ? undefined : await subjectOf(stores, target, options.user);
    if (options.user !== undefined && scimId === undefined)
      return { code: 1, out: [`target '${target}' has no user '${options.user}' (by SCIM id or userName), now or before`] };
    const read = await stores.trail.calls(target, { ...(scimId ? { scimId } : {}), limit: options.since ? SINCE_SCAN : options.limit });
    const since = options.since?.toISOString();
    const calls = since ? read.filter((c) => c.at >= since).slice(0, options.limit) : read;
    // For one user, the outbox's row first: whether work is still open, how often it was tried, and why.
    const work = scimId ? (await stores.outbox.workOf(target, [scimId])).get(scimId) : undefined;
    if (options.json)
      return {
        code: 0,
        out: [JSON.stringify({ target, ...(scimId ? { scimId } : {}), ...(work ? { outbox: { ...viewOf(work), attempts: work.attempts } } : {}), calls })],
      };
    const outbox = work ? [`outbox: ${viewLine(work)}`] : [];
    return { code: 0, out: [...outbox, ...(calls.length > 0 ? calls.map(formatCall) : ["no vendor calls recorded"])] };
  } finally {
    await stores.admin.close();
  }
}

/**
 * The store, cut by aggregate: one port per concern, each with its own SQL (written once for both
 * databases). A class receives only the ports it uses; `open.ts` builds the bundle.
 */
import type { AdminStore } from "./admin/port";
import { Credentials } from "./credentials/credentials";
import type { CredentialStore } from "./credentials/port";
import type { Database } from "./database";
import { Links } from "./links/links";
import type { LinkStore } from "./links/port";
import { Members } from "./members/members";
import type { MemberStore } from "./members/port";
import { Outbox } from "./outbox/outbox";
import type { OutboxStore } from "./outbox/port";
import type { ResourceStore } from "./resources/port";
import { Resources, type ResourceLists } from "./resources/resources";
import type { TrailStore } from "./trail/port";
import { Trail } from "./trail/trail";

export interface Stores {
  /** SCIM users and groups. */
  readonly resources: ResourceStore;
  /** Group memberships. */
  readonly members: MemberStore;
  /** Vendor users and groups of SCIM users and groups. */
  readonly links: LinkStore;
  /** The audit trail of vendor calls. */
  readonly trail: TrailStore;
  /** Vendor work, per resource. */
  readonly outbox: OutboxStore;
  /** Rate limiter and circuit state, per vendor credential. */
  readonly credentials: CredentialStore;
  /** Schema, readiness, locks, close. */
  readonly admin: AdminStore;
}

/** Every port over one database (`lists`: how it reads lists no index answers). */
export function storesOver(db: Database & AdminStore, lists: ResourceLists): Stores {
  return {
    resources: new Resources(db, lists),
    members: new Members(db),
    links: new Links(db),
    trail: new Trail(db),
    outbox: new Outbox(db),
    credentials: new Credentials(db),
    admin: db,
  };
}

/** What every SCIM handler knows about the request it serves. */
import type { TargetConfig } from "../config/schema";
import type { Logger } from "../log";
import type { Provisioner } from "../provisioning/provisioner";
import type { Delivery } from "../provisioning/targets";
import type { StoreLocks } from "../store/admin/port";
import type { Stores } from "../store/stores";
import type { ListQuery } from "../store/types";

export interface ListRequest {
  filter?: ListQuery["predicate"];
  /** The filter as parsed, for a store that evaluates it in the database. */
  expression?: ListQuery["filter"];
  lookups?: ListQuery["lookups"];
  sort?: ListQuery["sort"];
  startIndex: number;
  count: number;
}

/** What a SCIM request asked for, as the router read it: set once, before any handler runs, then fixed. */
export interface ScimRequest {
  readonly requestId: string;
  /** The base of this target's SCIM URLs, e.g. https://bridge.example.com/scim/v2. */
  readonly baseUrl: string;
  /** A list read's filter, order and page (scimmy's own filter parsing is bypassed). */
  readonly list?: ListRequest;
  /** From If-Match: a write only goes ahead if the stored version still equals it. */
  readonly expectedVersion?: number;
  /** Password from the request body, kept out of scimmy and the store. */
  readonly password?: string;
  /** The request sets active to false (a deactivation is re-sent even to a user the bridge holds disabled). */
  readonly deactivates?: boolean;
}

/** What the handlers note while serving one request (scimmy calls them more than once for a PATCH). */
export interface RequestScratch {
  /** Whether group reads should load members (not when the request excludes them). */
  wantMembers: boolean;
  /** The version a PATCH read; its write must find the same version. */
  readVersion?: number;
  /**
   * A user change recorded with its vendor work: the request waits for it (awaitRecordedChange) once the
   * resource's lock is given back — a lock must not be held, nor its store connection, while the vendor works.
   */
  recorded?: RecordedChange;
  /** Users whose work a membership change recorded (a vendor that keeps a user's groups on the user): waited for like `recorded`. */
  recordedMembers?: string[];
}

export interface RecordedChange {
  id: string;
  /** A deactivation or delete: accepted once recorded, never undone. */
  deprovision: boolean;
  /** Puts the store back as it was, should the vendor refuse the change (or, under onVendorDelay: fail, be late). */
  undo?: () => Promise<void>;
}

/** The ports the SCIM handlers use: resources, memberships, links and outbox rows (read for views), and the writers' locks. */
export type ScimStores = Pick<Stores, "resources" | "members" | "links" | "outbox"> & { readonly admin: StoreLocks };

/** What every SCIM handler knows: the target and its services, the request (fixed), and its scratch. */
export interface ScimContext {
  readonly target: TargetConfig;
  readonly stores: ScimStores;
  readonly provisioner: Provisioner;
  /** A vendor target's outbox side: user changes are recorded with their work and waited for here. */
  readonly delivery?: Delivery;
  readonly log: Logger;
  readonly request: ScimRequest;
  readonly scratch: RequestScratch;
}

/** The same context for a request the router has read further (a list's page, If-Match, a password). */
export function withRequest(ctx: ScimContext, more: Omit<Partial<ScimRequest>, "requestId" | "baseUrl">): ScimContext {
  return Object.freeze({ ...ctx, request: Object.freeze(Object.assign(Object.create(null) as ScimRequest, ctx.request, more)) });
}

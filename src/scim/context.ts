/** What every SCIM handler knows about the request it serves. */
import type { TargetConfig } from "../config/schema";
import type { Logger } from "../log";
import type { Provisioner } from "../provisioning/provisioner";
import type { Delivery } from "../provisioning/targets";
import type { ListQuery, Store } from "../store/types";

export interface ListRequest {
  filter?: ListQuery["predicate"];
  lookups?: ListQuery["lookups"];
  sort?: ListQuery["sort"];
  startIndex: number;
  count: number;
}

export interface ScimContext {
  target: TargetConfig;
  store: Store;
  provisioner: Provisioner;
  /** A vendor target's outbox side: user changes are recorded with their work and waited for here. */
  delivery?: Delivery;
  log: Logger;
  requestId: string;
  /** The base of this target's SCIM URLs, e.g. https://bridge.example.com/scim/v2. */
  baseUrl: string;
  /** A list read's filter, order and page (set by the router; scimmy's own filter parsing is bypassed). */
  list?: ListRequest;
  /** Whether group reads should load members (not when the request excludes them). */
  wantMembers: boolean;
  /**
   * Rendering a group, its members bypass scimmy (they come from the store's rows already in SCIM form, and
   * scimmy's coercion costs ~2 s on 20,000 of them): they wait here, by group id, and join the group after.
   * Off while a PATCH reads the group it will modify, which needs the members inside.
   */
  membersOutside: boolean;
  memberStash: Map<string, Record<string, unknown>[]>;
  /** From If-Match: a write only goes ahead if the stored version still equals it. */
  expectedVersion?: number;
  /** The version a PATCH read; its write must find the same version. */
  readVersion?: number;
  /** Password from the request body, kept out of scimmy and the store. */
  password?: string;
  /** The request sets active to false (a deactivation is re-sent even to a user the bridge holds disabled). */
  deactivates?: boolean;
}

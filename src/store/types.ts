/**
 * The store: where SCIM resources, group memberships and their versions live. SQLite embedded, PostgreSQL
 * to scale out; both implement this interface and pass the same tests.
 */

import type { Filter } from "scim2-parse-filter";

/** A SCIM resource document as accepted from an IdP (no id, no meta, no derived attributes). */
export type ScimDocument = Record<string, unknown>;

import type { IndexLookup, ResourceKind } from "../scim-model/kinds";

export type { IndexLookup, ResourceKind };

export interface StoredResource {
  id: string;
  kind: ResourceKind;
  doc: ScimDocument;
  created: string;
  lastModified: string;
  version: number;
}

/** Columns that are indexed for `eq` lookups; their values are derived from the document on write. */
export interface UserKeys {
  userName: string;
  externalId?: string;
  displayName?: string;
  emails: string[];
}

export interface GroupKeys {
  displayName: string;
  externalId?: string;
}

export type KeysOf<K extends ResourceKind> = K extends "User" ? UserKeys : GroupKeys;

/** Columns the store can order by without reading documents. */
export type SortColumn = "created" | "lastModified" | "id" | "userName" | "displayName" | "externalId";

export interface ListQuery {
  /** Candidates come from these lookups (a union); without it, every resource of the target is a candidate. */
  lookups?: IndexLookup[];
  /** Applied to each candidate; the store pages over what passes. */
  predicate?: (resource: StoredResource) => boolean;
  /** The same filter, parsed: a store that can evaluate it in the database does, instead of the predicate. */
  filter?: Filter;
  /** What a filter no index answers may cost here (FILTER_BUDGET where left out). */
  budget?: { rows?: number; ms?: number };
  /** Order by a column, or by a value computed from the resource. Ties break on insertion order. */
  sort?: { column: SortColumn; descending: boolean } | { key: (r: StoredResource) => unknown; descending: boolean };
  startIndex: number;
  count: number;
}

export interface ListPage {
  resources: StoredResource[];
  total: number;
}

export interface Member {
  value: string;
  display?: string;
  type?: ResourceKind;
}

/** A SCIM user's account at the target's vendor. */
export interface VendorLink {
  target: string;
  scimId: string;
  vendor: string;
  vendorKey: string;
  link: "created" | "adopted";
  userName: string;
  /** What the vendor user is now: active, disabled, or removed (deleted at the vendor by the bridge). */
  state: "active" | "disabled" | "removed";
  /** The parameters the vendor last acknowledged, by operation name (secrets left out). */
  acknowledged: Record<string, Record<string, unknown>>;
  createdAt: string;
  deletedAt?: string;
}

export type NewVendorLink = Omit<VendorLink, "createdAt" | "deletedAt" | "state" | "acknowledged"> & Partial<Pick<VendorLink, "state" | "acknowledged">>;

/** A SCIM group's group at the vendor. */
export interface VendorGroupLink {
  target: string;
  scimId: string;
  vendorGroupId: string;
  createdByBridge: boolean;
}

/** One vendor call, as the audit trail keeps it: what was done, for whom, and what the vendor said. Never its parameters. */
export interface VendorCallRecord {
  target: string;
  at: string;
  /** The bridge's request id (X-Request-Id), or reconcile's run id. */
  requestId: string;
  /** The SCIM user or group the call was about. */
  scimId?: string;
  /** The mapping's operation (create, disable …) and the vendor's action or path it became. */
  operation: string;
  call: string;
  /** The vendor's answer, classified; `deadline` when the request's deadline cut the call off (it may have landed). */
  outcome: VendorCallOutcome;
  /** The vendor's error code, for a refusal. */
  code?: string;
  vendorRequestId?: string;
  /** Calls sent, retries included (0: the rate limiter held it until the deadline). */
  attempts: number;
  ms: number;
  /** For a create: SHA-256 of the unique name it asked for (lower case), never the name itself. */
  nameHash?: string;
  /** For a create the vendor acknowledged: the key it answered with. */
  vendorKey?: string;
}

export type VendorCallOutcome = "success" | "conflict" | "notFound" | "invalid" | "throttled" | "transient" | "auth" | "deadline";

/**
 * A resource's vendor work, as the outbox keeps it: one row per resource, which every change of the resource
 * resets to pending (the work itself is "bring the vendor in line with the resource as it is now", so later
 * changes coalesce into it). Times are milliseconds since the epoch.
 */
export interface WorkItem {
  target: string;
  scimId: string;
  /** pending: to do (or being done, under a lease); failed: a dead letter, kept until a change or an operator re-drives it; done. */
  state: "pending" | "failed" | "done";
  /** Bumped by each change recorded into the row: a run settles only the generation it started from. */
  generation: number;
  /** The row carries a deactivation or a delete: claimed first, retried without a horizon, never dropped. */
  deprovision: boolean;
  /** When the deprovisioning was asked for (kept while later changes coalesce into the row). */
  deprovisionAt?: number;
  /** The IdP asked for the deactivation itself: the status call is sent even to a user held disabled. */
  resendStatus: boolean;
  attempts: number;
  nextAt: number;
  /** A create went out whose answer never arrived (timeout, dropped connection, crash): look up before creating again. */
  createIntent: boolean;
  firstAt: number;
  /** After this the work is a dead letter (none for deprovisioning). */
  horizonAt?: number;
  lastAt?: number;
  lastCode?: string;
  lastDetail?: string;
  lastVendorRequestId?: string;
  leaseOwner?: string;
  leaseUntil?: number;
  /** A deleted user's last document (a lost create's vendor user is found by it). */
  removedDoc?: ScimDocument;
  /** The change carried a password, which only the process that took the request holds. */
  passwordPending: boolean;
}

/** What a change records into the outbox with it. */
export interface WorkOrder {
  deprovision: boolean;
  resendStatus: boolean;
  /** How long the work may keep failing before it is a dead letter (ignored for deprovisioning). */
  horizonMs: number;
  /** A delete's: the user as it was. */
  removedDoc?: ScimDocument;
  /** The change carries a password (held in memory by the process that took it). */
  password?: boolean;
}

/** How a run of a work item ended. */
export type WorkSettlement =
  | { state: "done" }
  | { state: "pending"; retryInMs: number; attempted: boolean; code?: string; detail: string; vendorRequestId?: string }
  | { state: "failed"; code?: string; detail: string; vendorRequestId?: string };

export interface OutboxStats {
  depth: { target: string; state: "pending" | "failed"; count: number }[];
  /** Per target, when the oldest open deprovisioning (pending, or a dead letter) was asked for. */
  oldestDeprovision: { target: string; since: number }[];
}

/** The default cost a filter no index answers may have: resources read, and time. */
export const FILTER_BUDGET = { rows: 2_000_000, ms: 30_000 };

/** What a filter no index answers: the IdP reads these, with what to filter on instead. */
export const INDEXED_ATTRIBUTES = "id, userName, externalId, emails.value and displayName (eq), meta.lastModified and meta.created (gt, ge, lt, le)";

/** A filter no index answers would cost more than the target allows: 400 before reading (rows), 503 when it ran out of time. */
export class FilterTooCostlyError extends Error {
  constructor(
    readonly status: 400 | 503,
    readonly detail: string,
  ) {
    super(detail);
    this.name = "FilterTooCostlyError";
  }

  static rows(kind: ResourceKind, rows: number, allowed: number): FilterTooCostlyError {
    return new FilterTooCostlyError(
      400,
      `No index answers this filter, and reading all ${rows} ${kind} resources of this target is more than it allows (${allowed}). Filter on an indexed attribute: ${INDEXED_ATTRIBUTES}.`,
    );
  }

  static time(ms: number): FilterTooCostlyError {
    return new FilterTooCostlyError(
      503,
      `No index answers this filter, and evaluating it took longer than this target allows (${ms} ms). Filter on an indexed attribute: ${INDEXED_ATTRIBUTES}.`,
    );
  }
}

export class UniquenessError extends Error {
  constructor(readonly attribute: string) {
    super(`${attribute} is already in use`);
    this.name = "UniquenessError";
  }
}

export class NotFoundError extends Error {
  constructor(
    readonly kind: ResourceKind,
    readonly id: string,
  ) {
    super(`${kind} ${id} not found`);
    this.name = "NotFoundError";
  }
}

export class VersionMismatchError extends Error {
  constructor(readonly current: number) {
    super("the resource changed since it was read");
    this.name = "VersionMismatchError";
  }
}

/**
 * The store cannot be used right now (database unreachable, connection lost, file removed or read-only,
 * locked by another process): the request may succeed later, and the IdP is told it is the store.
 */
export class StoreUnavailableError extends Error {
  /** `reason` is what the IdP reads; the message adds the cause's own words, for the log. */
  constructor(
    readonly reason: string,
    cause?: unknown,
  ) {
    super(`the store is unavailable: ${reason}${cause instanceof Error ? ` (${cause.message})` : ""}`, { cause });
    this.name = "StoreUnavailableError";
  }
}

export interface Store {
  readonly kind: "sqlite" | "postgres";
  migrate(): Promise<number>;
  /**
   * Runs `work` while no other process holds the same key (one writer per resource across replicas).
   * The in-process lock is taken first, so a process waits here with at most one connection per key.
   */
  exclusive<T>(key: string, work: () => Promise<T>): Promise<T>;
  /**
   * Runs `work` outside any `exclusive` of the caller: work that outlives the caller's lock (an outbox run
   * a request starts and may stop waiting for) must not use the connection the caller gives back.
   */
  detached<T>(work: () => T): T;
  ping(): Promise<void>;
  close(): Promise<void>;

  /** Stores a new resource; with `work`, the vendor work it implies in the same transaction (both or neither). */
  create<K extends ResourceKind>(target: string, kind: K, id: string, doc: ScimDocument, keys: KeysOf<K>, work?: WorkOrder): Promise<StoredResource>;
  /** Replaces the document; with `expectedVersion`, only if the stored version still equals it; `work` in the same transaction. */
  replace<K extends ResourceKind>(
    target: string,
    kind: K,
    id: string,
    doc: ScimDocument,
    keys: KeysOf<K>,
    expectedVersion?: number,
    work?: WorkOrder,
  ): Promise<StoredResource>;
  get(target: string, kind: ResourceKind, id: string): Promise<StoredResource | undefined>;
  remove(target: string, kind: ResourceKind, id: string, expectedVersion?: number, work?: WorkOrder): Promise<void>;
  list(target: string, kind: ResourceKind, query: ListQuery): Promise<ListPage>;
  count(target: string, kind: ResourceKind): Promise<number>;

  /** Group membership is stored as rows: these touch only the rows named, and bump the group's version. */
  members(target: string, groupId: string): Promise<Member[]>;
  addMembers(target: string, groupId: string, members: Member[]): Promise<StoredResource>;
  removeMembers(target: string, groupId: string, memberIds: string[] | "all"): Promise<StoredResource>;
  replaceMembers(target: string, groupId: string, members: Member[]): Promise<StoredResource>;
  /** Vendor links: written when the vendor acknowledges a create or an adoption; never deleted. */
  recordLink(link: NewVendorLink): Promise<VendorLink>;
  updateLink(target: string, scimId: string, change: Partial<Pick<VendorLink, "state" | "acknowledged" | "vendorKey" | "link">>): Promise<void>;
  markLinkDeleted(target: string, scimId: string): Promise<void>;
  linksOf(target: string, scimIds: string[]): Promise<Map<string, VendorLink>>;
  /** The links of any of `targets` that hold this vendor key now (not deleted, vendor user not removed). */
  linksHolding(targets: string[], vendorKey: string): Promise<VendorLink[]>;
  allLinks(target: string): Promise<VendorLink[]>;

  groupLinkOf(target: string, scimGroupId: string): Promise<VendorGroupLink | undefined>;
  recordGroupLink(link: VendorGroupLink): Promise<void>;
  removeGroupLink(target: string, scimGroupId: string): Promise<void>;

  /** The audit trail of vendor calls: written once per call, read newest first, pruned by age. */
  recordVendorCall(record: VendorCallRecord): Promise<void>;
  vendorCalls(target: string, filter: { scimId?: string; limit: number }): Promise<VendorCallRecord[]>;
  /** Create calls that succeeded or may have (deadline, transient), for these name hashes or all: newest first. */
  createCalls(target: string, nameHashes?: string[]): Promise<VendorCallRecord[]>;
  /** Removes records older than `before` (ISO time); answers how many went. */
  pruneVendorCalls(before: string): Promise<number>;

  /**
   * The outbox. Work is recorded with the change that implies it (create / replace / remove), or here; a
   * process claims due work under a lease (another process's expired lease falls back), and settles it.
   */
  enqueueWork(target: string, scimId: string, order: WorkOrder): Promise<void>;
  /** Due pending work of `targets` (those the process serves) no live lease holds, deprovisioning first, leased to `owner` for `leaseMs`. */
  claimWork(owner: string, leaseMs: number, limit: number, targets: string[]): Promise<WorkItem[]>;
  /** One resource's work, if it is pending and no live lease holds it (due or not). */
  claimWorkOf(target: string, scimId: string, owner: string, leaseMs: number): Promise<WorkItem | undefined>;
  renewLeases(owner: string, leaseMs: number, items: { target: string; scimId: string }[]): Promise<void>;
  /** Records that a create is about to go out (`on`), or that its answer arrived (`off`); false when `owner` no longer holds the row. */
  markCreateIntent(target: string, scimId: string, owner: string, on: boolean): Promise<boolean>;
  /**
   * Ends `owner`'s run of `generation`. A change recorded meanwhile (a newer generation) keeps the row
   * pending and due now, whatever the run's outcome. Answers the row as it is after.
   */
  settleWork(target: string, scimId: string, owner: string, generation: number, settlement: WorkSettlement): Promise<WorkItem | undefined>;
  workOf(target: string, scimIds: string[]): Promise<Map<string, WorkItem>>;
  listWork(filter: { target?: string; state?: WorkItem["state"]; limit: number }): Promise<WorkItem[]>;
  /** A failed (or pending) row made due now, attempts and horizon restarted; answers how many rows. */
  redriveWork(target: string, which: { scimId: string } | { failed: true }, horizonMs: number): Promise<number>;
  dropWork(target: string, scimId: string): Promise<boolean>;
  /** Gives up `owner`'s leases (shutdown): the work is due again for any process. */
  releaseLeases(owner: string): Promise<void>;
  /** Pending work of `targets` that waits is made due now (their vendor's circuit closed); answers how many rows. */
  releaseWork(targets: string[]): Promise<number>;
  outboxStats(): Promise<OutboxStats>;
  /**
   * Read-modify-write of one credential's shared state (rate limiter, circuit), atomic across every process
   * on the store; `now` is the store's clock, in ms, the same for every process.
   */
  updateCredentialState<T>(credential: string, update: (state: string | undefined, now: number) => { state: string; result: T }): Promise<T>;

  /** Which of `ids` are resources of the target, and of which kind. */
  kindsOf(target: string, ids: string[]): Promise<Map<string, ResourceKind>>;

  /** The groups each of `memberIds` belongs to directly. */
  groupsOf(target: string, memberIds: string[]): Promise<Map<string, { id: string; displayName: string }[]>>;
}

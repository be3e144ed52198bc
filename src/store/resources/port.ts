/** SCIM users and groups of each target: their documents, versions and indexed keys. */
import type { KeysOf, ListPage, ListQuery, ResourceKind, ScimDocument, StoredResource, WorkOrder } from "../types";

/** What a change of a stored resource may carry: the version it must find stored, and the vendor work it implies. */
export interface WriteTerms {
  /** The write goes ahead only if the stored version still equals it (VersionMismatchError if not). */
  expectedVersion?: number;
  /** Recorded in the outbox in the same transaction: both or neither. */
  work?: WorkOrder;
  /**
   * A group's: work recorded, in the same transaction, for each user member (before a removal takes their
   * memberships) — for a vendor that keeps a user's groups on the user.
   */
  memberWork?: WorkOrder;
}

export interface ResourceStore {
  /** Stores a new resource; with `work`, the vendor work it implies in the same transaction (both or neither). */
  create<K extends ResourceKind>(target: string, kind: K, id: string, doc: ScimDocument, keys: KeysOf<K>, work?: WorkOrder): Promise<StoredResource>;
  replace<K extends ResourceKind>(target: string, kind: K, id: string, doc: ScimDocument, keys: KeysOf<K>, terms?: WriteTerms): Promise<StoredResource>;
  get(target: string, kind: ResourceKind, id: string): Promise<StoredResource | undefined>;
  /** Removes the resource and its memberships (RFC 7644 §3.6). */
  remove(target: string, kind: ResourceKind, id: string, terms?: WriteTerms): Promise<void>;
  list(target: string, kind: ResourceKind, query: ListQuery): Promise<ListPage>;
  /** Which of `ids` are resources of the target, and of which kind. */
  kindsOf(target: string, ids: string[]): Promise<Map<string, ResourceKind>>;
}

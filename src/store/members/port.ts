/** Group membership, stored as rows: changes touch only the rows named, and bump the group's version. */
import type { Member, StoredResource, WorkOrder } from "../types";

/**
 * What a membership change may carry: work recorded in the same transaction for each user it touches (a
 * vendor that keeps a user's groups on the user gets them with the user's own work).
 */
export interface MemberTerms {
  memberWork?: WorkOrder;
}

/** A group a resource belongs to directly. */
export interface GroupRef {
  id: string;
  displayName: string;
}

export interface MemberStore {
  /** The group's members, in the order they joined. */
  of(target: string, groupId: string): Promise<Member[]>;
  /** Adds members (a member already there keeps its place; a display given replaces its display); answers the group. */
  add(target: string, groupId: string, members: Member[], terms?: MemberTerms): Promise<StoredResource>;
  remove(target: string, groupId: string, memberIds: string[] | "all", terms?: MemberTerms): Promise<StoredResource>;
  /** The groups each of `memberIds` belongs to directly. */
  groupsOf(target: string, memberIds: string[]): Promise<Map<string, GroupRef[]>>;
}

/** Group membership, stored as rows: changes touch only the rows named, and bump the group's version. */
import type { Member, StoredResource } from "../types";

/** A group a resource belongs to directly. */
export interface GroupRef {
  id: string;
  displayName: string;
}

export interface MemberStore {
  /** The group's members, in the order they joined. */
  of(target: string, groupId: string): Promise<Member[]>;
  /** Adds members (a member already there keeps its place; a display given replaces its display); answers the group. */
  add(target: string, groupId: string, members: Member[]): Promise<StoredResource>;
  remove(target: string, groupId: string, memberIds: string[] | "all"): Promise<StoredResource>;
  /** The groups each of `memberIds` belongs to directly. */
  groupsOf(target: string, memberIds: string[]): Promise<Map<string, GroupRef[]>>;
}

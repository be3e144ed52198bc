/** The resource types the bridge serves, and the index lookups a filter can be answered by. */

export type ResourceKind = "User" | "Group";

/** An index lookup: attribute name (as the store names it) and the value to match. */
export interface IndexLookup {
  attribute: "id" | "userName" | "externalId" | "displayName" | "emails";
  value: string;
}

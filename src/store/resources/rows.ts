/** A resource row as both databases read it back, and the columns a list is ordered by. */
import { fromJson, type JsonColumn } from "../database";
import type { ResourceKind, ScimDocument, SortColumn, StoredResource } from "../types";

/** The columns a resource is read with, of the table `alias` if given (add `seq`, its insertion order, where it is needed). */
export const resourceColumns = (alias?: string) =>
  ["id", "kind", "doc", "created", "last_modified", "version"].map((column) => (alias ? `${alias}.${column}` : column)).join(", ");

export const RESOURCE_COLUMNS = resourceColumns();

export interface ResourceRow {
  id: string;
  kind: ResourceKind;
  doc: JsonColumn<ScimDocument>;
  created: string;
  last_modified: string;
  version: number;
}

export function toResource(row: ResourceRow): StoredResource {
  return { id: row.id, kind: row.kind, doc: fromJson(row.doc), created: row.created, lastModified: row.last_modified, version: row.version };
}

/** Columns a list can be ordered by without reading documents. */
export const SORT_COLUMN: Record<SortColumn, string> = {
  created: "created",
  lastModified: "last_modified",
  id: "id",
  userName: "name_key",
  displayName: "display_key",
  externalId: "external_id",
};

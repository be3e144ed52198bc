/**
 * Tables keyed by words that come from outside — a group's name from a request, a vendor's code, an action
 * a sandbox is asked for — are plain objects, and a plain object answers `constructor`, `toString` or
 * `__proto__` with what it inherits. These lookups answer only what the table itself holds.
 */

/** The table's own entry for `key`; undefined when it has none (never an inherited member). */
export function ownEntry<V>(table: Readonly<Record<string, V>> | undefined, key: string): V | undefined {
  return table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}

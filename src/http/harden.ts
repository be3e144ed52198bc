/**
 * Defence in depth against prototype pollution: whatever a dependency might do with a hostile key, no
 * property can be added to the prototypes every object shares. (Freezing them would break libraries that
 * assign their own `toString`; preventing extension does not.) Input validation (scim-model/input-limits.ts)
 * refuses such keys first; this is the net under it.
 */
export function sealSharedPrototypes(): void {
  for (const prototype of [Object.prototype, Array.prototype, Function.prototype]) Object.preventExtensions(prototype);
}

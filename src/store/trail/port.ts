/** The audit trail of vendor calls: written once per call, read newest first, pruned by age. */
import type { VendorCallRecord } from "../types";

export interface TrailStore {
  record(call: VendorCallRecord): Promise<void>;
  /** The target's calls (about `scimId`, if given), newest first. */
  calls(target: string, filter: { scimId?: string; limit: number }): Promise<VendorCallRecord[]>;
  /** Create calls that succeeded or may have (deadline, transient), for these name hashes or all: newest first. */
  createCalls(target: string, nameHashes?: string[]): Promise<VendorCallRecord[]>;
  /** Removes records older than `before` (ISO time); answers how many went. */
  prune(before: string): Promise<number>;
}

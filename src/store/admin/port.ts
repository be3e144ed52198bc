/** The store as a whole: its schema, its health, its end, and the locks that serialise writers across processes. */

/** One writer per key, across every process on the store. */
export interface StoreLocks {
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
}

export interface AdminStore extends StoreLocks {
  readonly kind: "sqlite" | "postgres";
  /** Brings the schema up to date; answers how many migrations it applied. */
  migrate(): Promise<number>;
  /** Readiness: the store can be read and written now (StoreUnavailableError if not). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The shared state of each vendor credential (its rate limiter and circuit), one JSON text per credential. */
export interface CredentialStore {
  /**
   * Read-modify-write of one credential's state, atomic across every process on the store; `now` is the
   * store's clock, in ms, the same for every process.
   */
  update<T>(credential: string, change: (state: string | undefined, now: number) => { state: string; result: T }): Promise<T>;
}

/** Credential state's SQL, once for both databases. */
import type { Database } from "../database";
import type { CredentialStore } from "./port";

export class Credentials implements CredentialStore {
  private readonly read: string;

  constructor(private readonly db: Database) {
    // The row locked for the transaction (PostgreSQL; SQLite has one writer), and the store's clock.
    this.read = `SELECT state, ${db.dialect.clockMs} AS now FROM credential_state WHERE credential = :credential${db.dialect.forUpdate}`;
  }

  update<T>(credential: string, change: (state: string | undefined, now: number) => { state: string; result: T }): Promise<T> {
    return this.db.transaction(async (tx) => {
      // An empty state stands for none yet: the row exists, so there is one row to lock.
      await tx.run("INSERT INTO credential_state (credential, state) VALUES (:credential, '') ON CONFLICT (credential) DO NOTHING", { credential });
      const row = (await tx.row<{ state: string; now: number | string }>(this.read, { credential, now: Date.now() }))!;
      const { state, result } = change(row.state === "" ? undefined : row.state, Number(row.now));
      await tx.run("UPDATE credential_state SET state = :state WHERE credential = :credential", { state, credential });
      return result;
    });
  }
}

/**
 * The seam between the SCIM side and the vendor side. Users: the SCIM handlers record each change with its
 * vendor work in the outbox (one write), and the outbox brings the vendor in line (`deliver`). Groups: the
 * handlers describe each change ("created / deleted; these members joined or left") and hand it to the
 * provisioner before the store records it, so a change the vendor refuses is not recorded either.
 */
import type { ScimDocument, StoredResource } from "../store/types";

export type ResourceChange =
  | { op: "create"; kind: "Group"; id: string; after: ScimDocument }
  | { op: "replace"; kind: "Group"; id: string; before: StoredResource; after: ScimDocument }
  | { op: "delete"; kind: "Group"; id: string; before: StoredResource }
  | {
      op: "members";
      groupId: string;
      added: string[];
      removed: string[];
      /** Records members as they are applied, so a change cut off part-way keeps what the vendor acknowledged. */
      applied?: (added: string[], removed: string[]) => Promise<void>;
    };

export interface ChangeContext {
  target: string;
  requestId: string;
  /** A password the IdP sent with this request; never stored. */
  password?: string;
  /** The request itself sets active to false (not merely a change of an inactive user). */
  deactivates?: boolean;
  /** When the work's time runs out (performance.now()); calls do not wait for the rate limiter beyond it. */
  deadlineAt?: number;
  /** The outbox's record of creates whose answer never came (see UserCreation.createAtVendor). */
  intent?: CreateIntent;
  /** The work removes a leaver's access: its calls go ahead of other work (see callVendor). */
  deprovision?: boolean;
}

/**
 * One step of vendor work, as every lifecycle method takes it: the change's context and the signal that
 * ends it (the run's deadline, or shutdown).
 */
export interface Step extends ChangeContext {
  signal: AbortSignal;
  /**
   * `password` is already at the vendor: a lost create that carried it was linked, or a follow-up of the
   * create set it. It is not sent again (a vendor keeps a password history, and a repeat is no change).
   */
  passwordDelivered?: boolean;
}

export interface CreateIntent {
  /** An earlier create's answer never came: look the user up before creating it (cleared once answered). */
  lookupFirst: boolean;
  /** A create is about to go out. */
  sent(): Promise<void>;
  /** Its answer came, and it created nothing. */
  answered(): Promise<void>;
  /** Whether the create whose answer never came carried this password (this process remembers a digest, never the password). */
  carried?(password: string): boolean;
}

export interface Provisioner {
  apply(change: ResourceChange, context: ChangeContext): Promise<void>;
  /**
   * Users of a vendor target: checks the user against the mapping before anything is recorded (a broken
   * rule is a VendorRefusal "invalid"). Store-only targets have none.
   */
  checkUser?(id: string, user: ScimDocument, password?: string): void;
  /**
   * The vendor keeps a user's groups on the user (a userAttribute mapping): a membership change is work of
   * each user it touches, recorded with it and carried out by the outbox, not a call of the group's.
   */
  readonly groupsOnUsers?: boolean;
  /** Whether a password the IdP sends reaches the vendor (ServiceProviderConfig changePassword). */
  readonly takesPasswords?: boolean;
}

/** A store-only target: nothing leaves the bridge (IdP setup tests, conformance runs). */
export const storeOnly: Provisioner = {
  async apply() {},
};

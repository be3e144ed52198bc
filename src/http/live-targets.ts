/**
 * The targets a running bridge serves — tokens, provisioners, deliveries — as one value that a reload
 * replaces whole. A request reads it once, when it is authenticated: requests in flight finish with the
 * set they started with, and the next request sees the new one.
 */
import type { Config, TargetConfig } from "../config/schema";
import type { Provisioner } from "../provisioning/provisioner";
import type { Delivery } from "../provisioning/targets";
import { TokenDirectory } from "./auth";

export interface TargetSet {
  config: Config;
  directory: TokenDirectory;
  provisioners: Map<string, Provisioner>;
  deliveries: Map<string, Delivery>;
}

export class LiveTargets {
  private set: TargetSet;

  constructor(config: Config, provisioners: Map<string, Provisioner> = new Map(), deliveries: Map<string, Delivery> = new Map()) {
    this.set = { config, directory: new TokenDirectory(config.targets), provisioners, deliveries };
  }

  get current(): TargetSet {
    return this.set;
  }

  /** The target a presented token belongs to, in the current set. */
  resolve(token: string): TargetConfig | undefined {
    return this.set.directory.resolve(token);
  }

  replace(config: Config, provisioners: Map<string, Provisioner>, deliveries: Map<string, Delivery>): void {
    this.set = { config, directory: new TokenDirectory(config.targets), provisioners, deliveries };
  }
}

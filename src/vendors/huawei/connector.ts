/**
 * Huawei contact center (AICC/CEC) agent APIs: no request signing, a bearer token from tokenByAkSk. The
 * token is cached, refreshed before it expires, and once more when a call is answered 401.
 */
import { BaseConnector } from "../connector-base";
import { parseJson } from "../classify";
import type { SignedRequest } from "../signing/crypto";
import { CredentialExchangeError, type Endpoint, type VendorOutcome, type BuiltCall, type Envelope, type ErrorTable } from "../types";

export interface HuaweiCredentials {
  appKey: string;
  appSecret: string;
}

export const HUAWEI_API_BASE = "/apiaccess/rest/cc-management/v1";
const TOKEN_LIFETIME_SECONDS = 600;

/** The token exchange itself refused the app key and secret. */
export class HuaweiTokenError extends CredentialExchangeError {}

export class HuaweiConnector extends BaseConnector {
  private token?: { value: string; refreshAt: number };
  private pending?: Promise<string>;

  constructor(
    vendor: string,
    endpoint: Endpoint,
    errors: ErrorTable,
    envelope: Envelope,
    private readonly credentials: HuaweiCredentials,
    private readonly tokenPath: string,
  ) {
    super(vendor, endpoint, errors, envelope);
  }

  async prepare(call: BuiltCall, _now?: Date, offline = false): Promise<SignedRequest> {
    const token = offline ? "<AccessToken from tokenByAkSk>" : await this.accessToken();
    return {
      method: "POST",
      host: this.endpoint.host,
      path: `${HUAWEI_API_BASE}/${call.call}`,
      headers: { host: this.endpoint.host, "content-type": "application/json", authorization: `Bearer ${token}`, "x-app-key": this.credentials.appKey },
      body: JSON.stringify(call.params),
    };
  }

  override async invoke(call: BuiltCall, signal?: AbortSignal): Promise<VendorOutcome> {
    const first = await super.invoke(call, signal);
    if (first.kind !== "auth" || first.status !== 401) return first;
    this.token = undefined; // the token was revoked or expired early: fetch a new one, once
    return super.invoke(call, signal);
  }

  private async accessToken(): Promise<string> {
    if (this.token && Date.now() < this.token.refreshAt) return this.token.value;
    this.pending ??= this.fetchToken().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async fetchToken(): Promise<string> {
    const raw = await this.transport.send({
      method: "POST",
      host: this.endpoint.host,
      path: this.tokenPath,
      headers: { host: this.endpoint.host, "content-type": "application/json", "x-token-expire": String(TOKEN_LIFETIME_SECONDS) },
      body: JSON.stringify({ app_key: this.credentials.appKey, app_secret: this.credentials.appSecret }),
    });
    const body = parseJson(raw.text);
    const value = body?.AccessToken;
    if (raw.status >= 400 || typeof value !== "string")
      throw new HuaweiTokenError(`tokenByAkSk answered HTTP ${raw.status} without an AccessToken: check the app key and secret`);
    const lifetime = Number(body?.Expires ?? TOKEN_LIFETIME_SECONDS);
    // Refresh at 80% of the lifetime, so a call never carries a token about to expire.
    this.token = { value, refreshAt: Date.now() + lifetime * 800 };
    return value;
  }
}

/** What every connector shares: transport, classification, and secret-free answers. */
import { randomUUID } from "node:crypto";
import { classify, parseJson } from "./classify";
import { Transport, type RawAnswer } from "./http";
import type { SignedRequest } from "./signing/crypto";
import type { Endpoint, Json, ParsedAnswer, VendorConnector, VendorOutcome, BuiltCall, Envelope, ErrorTable } from "./types";
import { ownEntry } from "../lib/own-entry";

export abstract class BaseConnector implements VendorConnector {
  protected readonly transport: Transport;

  constructor(
    readonly vendor: string,
    protected readonly endpoint: Endpoint,
    protected readonly errors: ErrorTable,
    protected readonly envelope: Envelope,
  ) {
    this.transport = new Transport(endpoint);
  }

  abstract prepare(call: BuiltCall, now?: Date, offline?: boolean): Promise<SignedRequest>;

  /** Opens an answer by its envelope: where the result, the code, the message and the request id sit. */
  protected parse(raw: RawAnswer, body: Json | undefined): ParsedAnswer {
    const e = this.envelope;
    const text = (path: string | undefined) => {
      const value = path ? pick(body, path) : undefined;
      return value === undefined || value === null ? undefined : String(value);
    };
    const code = text(e.code);
    const flag = e.successFlag ? pick(body, e.successFlag) : undefined;
    const codeFails = e.successCodes ? (code === undefined ? !e.codeOptional : !e.successCodes.includes(code)) : code !== undefined;
    const ok = body !== undefined && raw.status < 400 && !codeFails && (flag === undefined || String(flag) === "true");
    const result = ((e.result ? pick(body, e.result) : body) ?? {}) as Json;
    return { ok, result, code: ok ? undefined : code, message: text(e.message), requestId: text(e.requestId) };
  }

  async invoke(call: BuiltCall, signal?: AbortSignal): Promise<VendorOutcome> {
    const raw = await this.transport.send(await this.prepare(call), signal);
    return classify(this.errors, raw, this.parse(raw, parseJson(raw.text)));
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  protected nonce(): string {
    return randomUUID();
  }
}

/** Reads a dotted path ("UserInfo.UserId", "Users.List") from an answer. */
export function pick(value: unknown, path: string): unknown {
  let node = value;
  for (const part of path.split(".")) {
    if (!node || typeof node !== "object") return undefined;
    node = ownEntry(node as Json, part);
  }
  return node;
}

/**
 * One vendor call as the engine makes it: rate-limited, retried on throttling and transient failures with
 * backoff while the request's deadline allows, transport failures turned into outcomes.
 */
import type { BuiltCall } from "../mapping/compile";
import type { Logger } from "../log";
import { CredentialExchangeError } from "../vendors/types";
import type { VendorConnector, VendorOutcome } from "../vendors/types";
import type { TokenBucket } from "./rate-limiter";

export class DeadlineExceeded extends Error {
  /** `attempts`: the calls that went out before the deadline passed (the last one's outcome is unknown). */
  constructor(readonly attempts = 0) {
    super("the vendor did not answer before the deadline");
    this.name = "DeadlineExceeded";
  }
}

const MAX_ATTEMPTS = 4;

function backoffMs(attempt: number, retryAfter?: number): number {
  if (retryAfter !== undefined) return retryAfter * 1000;
  const base = 250 * 2 ** attempt;
  return base / 2 + Math.random() * base; // jitter, so retries from many requests spread out
}

async function pause(ms: number, signal: AbortSignal, attempts: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), reject(new DeadlineExceeded(attempts))), { once: true });
  });
}

async function once(connector: VendorConnector, call: BuiltCall, signal: AbortSignal, attempt: number): Promise<VendorOutcome> {
  try {
    return await connector.invoke(call, signal);
  } catch (error) {
    if (signal.aborted) throw new DeadlineExceeded(attempt + 1);
    if (error instanceof CredentialExchangeError) return { kind: "auth", code: "TokenExchange", message: error.message, status: 401 };
    const code = (error as { code?: string }).code ?? (error as Error).name;
    return { kind: "transient", code, message: `could not reach the vendor: ${(error as Error).message}`, status: 0 };
  }
}

export async function callVendor(
  connector: VendorConnector,
  bucket: TokenBucket,
  call: BuiltCall,
  signal: AbortSignal,
  log: Logger,
  context: Record<string, unknown>,
): Promise<{ outcome: VendorOutcome; attempts: number }> {
  for (let attempt = 0; ; attempt++) {
    try {
      await bucket.take(signal);
    } catch {
      throw new DeadlineExceeded(attempt);
    }
    const started = performance.now();
    const outcome = await once(connector, call, signal, attempt);
    log.info("vendor call", {
      ...context,
      vendor: connector.vendor,
      call: call.call,
      outcome: outcome.kind,
      ...(outcome.kind === "success" ? {} : { code: outcome.code }),
      requestIdAtVendor: outcome.requestId,
      attempt: attempt + 1,
      ms: Math.round(performance.now() - started),
    });
    const retryable = outcome.kind === "throttled" || outcome.kind === "transient";
    if (!retryable || attempt + 1 >= MAX_ATTEMPTS) return { outcome, attempts: attempt + 1 };
    await pause(backoffMs(attempt, outcome.kind === "throttled" ? outcome.retryAfter : undefined), signal, attempt + 1);
  }
}

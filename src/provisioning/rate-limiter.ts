/**
 * A token bucket per vendor credential: every call waits for a token, so the bridge stays under the vendor's
 * rate limit however many IdP requests arrive at once (Tencent documents 20 CreateUser calls per second).
 */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Resolves when a call may go; callers are served in arrival order. Rejects if `signal` aborts first. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.wait(signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }

  private async wait(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const ms = Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        signal?.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
      });
    }
  }
}

export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * One bucket per credential, shared by every target of a bridge that uses it. Targets sharing a credential
 * share the vendor's limit too, so the strictest of their settings applies.
 */
export function bucketsByCredential(limits: { credential: string; limit: RateLimit }[]): Map<string, TokenBucket> {
  const strictest = new Map<string, RateLimit>();
  for (const { credential, limit } of limits) {
    const seen = strictest.get(credential);
    strictest.set(credential, seen ? { perSecond: Math.min(seen.perSecond, limit.perSecond), burst: Math.min(seen.burst, limit.burst) } : limit);
  }
  return new Map([...strictest].map(([credential, limit]) => [credential, new TokenBucket(limit.perSecond, limit.burst)]));
}

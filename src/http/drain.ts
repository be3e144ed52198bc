/**
 * Shutting down without dropping work: once draining, a request that arrives (on a new or a kept-alive
 * connection) answers 503 with `Connection: close`, so the IdP or load balancer goes to another replica;
 * requests already in flight finish — a deactivation under way reaches the vendor — within a bound, and
 * their answers close their connections too.
 */
import type { NextFunction, Request, Response } from "express";
import { errorBody } from "../scim/errors";

export class Drain {
  private draining = false;
  private readonly inFlight = new Set<Response>();
  private emptied?: () => void;

  readonly middleware = (_req: Request, res: Response, next: NextFunction): void => {
    if (this.draining) {
      res
        .status(503)
        .set({ Connection: "close", "Retry-After": "5" })
        .type("application/scim+json")
        .send(errorBody(503, undefined, "This bridge is shutting down; send the request again (another replica, or this one once restarted)."));
      return;
    }
    this.inFlight.add(res);
    res.on("close", () => {
      this.inFlight.delete(res);
      if (this.draining && this.inFlight.size === 0) this.emptied?.();
    });
    next();
  };

  /** Stops intake and waits for the requests in flight, at most `graceMs`; answers how many were still running. */
  async start(graceMs: number): Promise<number> {
    this.draining = true;
    for (const res of this.inFlight) if (!res.headersSent) res.setHeader("Connection", "close");
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.emptied = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
    }
    return this.inFlight.size;
  }
}

/** The last word on any failure: a SCIM error body with the right status; never HTML, never a stack trace. */
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../log";
import { describeError, errorBody } from "../scim/errors";

export function scimErrorHandler(log: Logger) {
  return (error: unknown, req: Request, res: Response, next: NextFunction) => {
    void next;
    const { status, scimType, detail, retryAfter, unexpected } = describeError(error);
    if (unexpected) log.error("request failed", { requestId: res.locals.requestId, method: req.method, path: req.path, error, stack: (error as Error)?.stack });
    if (res.headersSent) return;
    if (retryAfter !== undefined) res.set("Retry-After", String(retryAfter));
    res
      .status(status)
      .type("application/scim+json")
      .send(errorBody(status, scimType, detail));
  };
}

/** Anything outside the SCIM endpoints and health checks. */
export function notFound(req: Request, res: Response): void {
  res
    .status(404)
    .type("application/scim+json")
    .send(errorBody(404, undefined, `No endpoint at ${req.method} ${req.path}. SCIM lives under /scim/v2.`));
}

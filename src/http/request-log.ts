/**
 * A request id for every request (the caller's X-Request-Id when it is sane), and one log line when it
 * ends, with the client's address and user agent (health probes at debug).
 */
import { randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../log";

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Probes every few seconds from load balancers and orchestrators: logged at debug, not info. */
const PROBES = new Set(["/healthz", "/readyz"]);

export function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const offered = req.get("x-request-id");
    const requestId = offered && SANE_ID.test(offered) ? offered : randomUUID();
    res.locals.requestId = requestId;
    res.set("X-Request-Id", requestId);
    res.on("finish", () => {
      const path = req.originalUrl.split("?")[0]!;
      const level = PROBES.has(path) ? "debug" : "info";
      // winston formats (and redacts) an entry before its transports drop it by level: skip that work.
      if (!log.isLevelEnabled(level)) return;
      log.log(level, "request", {
        requestId,
        target: res.locals.target?.name,
        method: req.method,
        // the path only: queries carry filter values, which are people's names
        path,
        status: res.statusCode,
        // behind a proxy, the client's address when server.trustProxy is set
        client: req.ip,
        userAgent: req.get("user-agent")?.slice(0, 200),
        ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
      });
    });
    next();
  };
}

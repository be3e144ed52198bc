/** JSON request bodies, with SCIM errors for what cannot be read: invalidSyntax (400) and too large (413). */
import express, { type NextFunction, type Request, type Response } from "express";
import { ScimError } from "../scim/errors";
import { checkJsonShape } from "../scim-model/input-limits";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Notes a body with bytes that are not UTF-8 (the parser reads them as U+FFFD); it is refused, never stored so. */
function noteInvalidUtf8(_req: Request, res: Response, body: Buffer): void {
  try {
    utf8.decode(body);
  } catch {
    res.locals.invalidUtf8 = true;
  }
}

const NOT_UTF8 = () => new ScimError(400, "invalidSyntax", "The request body is not valid UTF-8: send JSON encoded as UTF-8.");

/** IdPs label SCIM bodies application/scim+json, application/json, or nothing useful: all are read as JSON. */
export function jsonBody(limit: string) {
  const parse = express.json({ limit, type: () => true, strict: false, verify: noteInvalidUtf8 as never });
  return (req: Request, res: Response, next: NextFunction) => {
    // A body on GET or DELETE means nothing in SCIM: it is not read, so it can never stop a DELETE.
    if (req.method === "GET" || req.method === "HEAD" || req.method === "DELETE") return next();
    parse(req, res, (error?: unknown) => {
      if (!error) {
        try {
          if (res.locals.invalidUtf8) throw NOT_UTF8();
          checkJsonShape(req.body);
        } catch (refusal) {
          // A PUT or PATCH that breaks a limit (or is not UTF-8) may still ask for a deactivation, which nothing
          // may stop: the resource route throws this refusal itself, where it can deactivate first (see
          // deprovisioningFirst).
          if (req.method !== "PUT" && req.method !== "PATCH") return next(refusal);
          res.locals.refusedBody = refusal;
        }
        return next();
      }
      const e = error as { type?: string; limit?: number; message?: string };
      if (e.type === "entity.too.large")
        return next(new ScimError(413, null, `The request body is larger than this bridge accepts (${limit}). Send fewer members per PATCH.`));
      if (e.type === "entity.parse.failed")
        // Not the parser's message: it quotes the body, and a body can hold a password.
        return next(new ScimError(400, "invalidSyntax", "The request body is not valid JSON."));
      if (e.type === "encoding.unsupported" || e.type === "charset.unsupported")
        return next(new ScimError(415 as number, null, "The request body must be UTF-8 JSON."));
      return next(new ScimError(400, "invalidSyntax", "The request body could not be read."));
    });
  };
}

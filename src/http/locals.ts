/**
 * What the middleware chain keeps on `res.locals` for the handlers after it, typed (express merges this
 * into every Response): the request id, the target the bearer token chose, the request's SCIM context, and
 * a body refusal a PUT or PATCH answers only after the deactivation it may ask for.
 */
import type { TargetConfig } from "../config/schema";
import type { ScimContext } from "../scim/context";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- express's own extension point
  namespace Express {
    interface Locals {
      /** Set first (request-log.ts): the client's X-Request-Id when sane, else a fresh one. */
      requestId: string;
      /** Set by requireBearer (auth.ts) on the SCIM routes. */
      target: TargetConfig;
      /** Set after authentication (app.ts) on the SCIM routes. */
      scim: ScimContext;
      /** The body is not UTF-8 (body.ts). */
      invalidUtf8?: boolean;
      /** The body broke a limit (body.ts); thrown by the resource route after any deactivation it asks for. */
      refusedBody?: unknown;
    }
  }
}

/** The bridge's configuration file, as zod schemas: the single source of truth for every key and default. */
import { z } from "zod";

const TOKEN_HASH = /^[0-9a-f]{64}$/;

export const TokenSchema = z
  .object({
    sha256: z
      .string()
      .transform((s) => s.toLowerCase())
      .pipe(z.string().regex(TOKEN_HASH, "expected the SHA-256 of the token as 64 hex digits (`scim-bridge token mint` prints one)")),
    label: z.string().optional(),
  })
  .strict();

export const TargetSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "a target name is 1-63 lower-case letters, digits, '-' or '_'"),
    tokens: z.array(TokenSchema).min(1, "a target needs at least one bearer token"),
    /** What a successful PATCH answers: the resource (200) or nothing (204). Both are RFC 7644 §3.5.2. */
    patchResponse: z.enum(["resource", "no-content"]).default("resource"),
  })
  .strict();

const SqliteStoreSchema = z
  .object({
    kind: z.literal("sqlite"),
    path: z.string().min(1).default("./data/bridge.db"),
  })
  .strict();

const SIZE = /^\d+(b|kb|mb)?$/i;

export const ConfigSchema = z
  .object({
    server: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(8080),
        /** The externally visible base URL (scheme://host[:port]); meta.location and Location use it. */
        publicUrl: z.url().optional(),
        bodyLimit: z.string().regex(SIZE, "a size such as 1mb or 512kb").default("1mb"),
        /** The largest page a list answers, whatever `count` asks for (ServiceProviderConfig filter.maxResults). */
        maxResults: z.number().int().min(1).max(10000).default(1000),
        /** The page size when a list request names no `count`. */
        defaultCount: z.number().int().min(1).max(10000).default(100),
        trustProxy: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    store: SqliteStoreSchema.prefault({ kind: "sqlite" }),
    log: z
      .object({ level: z.enum(["error", "warn", "info", "debug"]).default("info") })
      .strict()
      .prefault({}),
    targets: z
      .array(TargetSchema)
      .min(1, "configure at least one target")
      .superRefine((targets, ctx) => {
        const seen = new Set<string>();
        targets.forEach((t, i) => {
          if (seen.has(t.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `target name '${t.name}' is used twice` });
          seen.add(t.name);
        });
        const hashes = new Map<string, string>();
        targets.forEach((t, i) =>
          t.tokens.forEach((tok, j) => {
            const owner = hashes.get(tok.sha256);
            if (owner !== undefined && owner !== t.name)
              ctx.addIssue({ code: "custom", path: [i, "tokens", j, "sha256"], message: `this token already belongs to target '${owner}'` });
            hashes.set(tok.sha256, t.name);
          }),
        );
      }),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type TargetConfig = z.infer<typeof TargetSchema>;
export type StoreConfig = Config["store"];

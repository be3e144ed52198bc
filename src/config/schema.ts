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

/**
 * A credential field names an environment variable. `${NAME}` there would put the secret itself into the
 * config (and into any message about it), so it is refused with the fix; the value is never echoed.
 */
const CredentialVariableSchema = z.string().superRefine((value, ctx) => {
  const reference = /^\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}$/.exec(value);
  if (reference)
    ctx.addIssue({
      code: "custom",
      message: `write the environment variable's name (${reference[1]}), not \${${reference[1]}}: credentials are read from the environment at start`,
    });
  else if (value.includes("${"))
    ctx.addIssue({ code: "custom", message: "write the environment variable's name, without ${…}: credentials are read from the environment at start" });
  else if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) ctx.addIssue({ code: "custom", message: "the name of an environment variable (letters, digits and _)" });
});

/** A target's vendor: which mapping file, where the API is, whose credentials, and the policies. */
export const VendorConnectionSchema = z
  .object({
    /** Path of the mapping file (mappings/*.yaml). */
    mapping: z.string().min(1),
    /**
     * Names of the environment variables that hold the credentials (never the secrets themselves):
     * per the mapping's api.protocol: aliyun-* accessKeyId/accessKeySecret[/securityToken]; tencent-tc3
     * secretId/secretKey[/token]; volcengine-v4 accessKeyId/secretAccessKey[/sessionToken];
     * bearer-token-exchange appKey/appSecret.
     */
    credentials: z.record(z.string(), CredentialVariableSchema),
    /** Values for the mapping file's ${NAME} settings (instance, user store or zone ids …). */
    settings: z.record(z.string(), z.string()).default({}),
    /** Overrides of the mapping file's api block: private or international endpoints, regions, versions. */
    host: z.string().optional(),
    region: z.string().optional(),
    version: z.string().optional(),
    signature: z.enum(["v2", "v3"]).optional(),
    /**
     * Connect here instead of the vendor host (private link, proxy, test double); requests stay signed for
     * the host. A URL applies to the target's own host; a map gives one per host (`ram.aliyuncs.com: …`),
     * and a host it does not name (another product an operation calls) is reached directly.
     */
    connectTo: z.union([z.url(), z.record(z.string().regex(/^[A-Za-z0-9.-]+(:\d+)?$/, "a host name"), z.url())]).optional(),
    /** Plain http to connectTo is refused unless this is true. */
    allowInsecureHttp: z.boolean().default(false),
    /** Country for phone numbers written without a country code (ISO 3166 alpha-2). */
    phoneRegion: z
      .string()
      .regex(/^[A-Z]{2}$/, "an ISO 3166 alpha-2 country code such as CN or US")
      .optional(),
    /**
     * This target's group table (SCIM displayName or externalId → vendor group id), used where the mapping's
     * groups.resolveBy includes `table`; `unknown` overrides the mapping's policy for groups nothing finds.
     */
    groups: z
      .object({ map: z.record(z.string(), z.string()).default({}), unknown: z.enum(["create", "skip", "reject"]).optional() })
      .strict()
      .prefault({}),
    /** When the vendor already has the user: adopt it (link and answer 201) or answer 409. */
    existingUsers: z.enum(["adopt", "reject"]).default("adopt"),
    /** Before adopting, also require this attribute to agree with the vendor's record. */
    adoptOnlyIf: z.enum(["nameMatches", "emailMatches"]).default("nameMatches"),
    /** How long a SCIM request may wait for the vendor (IdPs give up at about 60 s). */
    deadlineMs: z.number().int().min(1000).max(55_000).default(20_000),
    timeouts: z
      .object({
        connectMs: z.number().int().min(100).default(5_000),
        headersMs: z.number().int().min(100).default(15_000),
        bodyMs: z.number().int().min(100).default(15_000),
      })
      .strict()
      .prefault({}),
    /**
     * Calls per second this target's credential may make (Tencent documents 20/s for CreateUser), for all
     * bridge processes on the store together. Calls are spaced evenly: no second ever holds more. (A file
     * that still sets the former `burst` loads with a warning: load.ts.)
     */
    rateLimit: z
      .object({ perSecond: z.number().min(0.1).default(20) })
      .strict()
      .prefault({}),
    /**
     * How long a SCIM request waits for the vendor before it is answered with the change kept and
     * `provisioning: pending` (the bridge carries it on). 0: answer as soon as the change is recorded.
     */
    answerWithinMs: z.number().int().min(0).max(55_000).default(3_000),
    /**
     * pending (default): a vendor that is slow, throttling or down does not fail the IdP's request; the
     * change is kept and delivered by the bridge. fail: the request waits up to deadlineMs and, if the
     * vendor has not taken the change, answers 429/503/504 and keeps nothing (deprovisioning is still kept
     * and delivered).
     */
    onVendorDelay: z.enum(["pending", "fail"]).default("pending"),
    /** How the outbox retries this target's work. */
    retry: z
      .object({
        firstDelayMs: z.number().int().min(10).default(1_000),
        maxDelayMs: z.number().int().min(100).default(600_000),
        deprovisionMaxDelayMs: z.number().int().min(100).max(600_000).default(120_000),
        /** Work other than deprovisioning that keeps failing this long becomes a dead letter. */
        horizonHours: z.number().min(0.001).default(24),
      })
      .strict()
      .prefault({}),
    /**
     * After this many vendor failures in a row, calls wait (the circuit opens) for openMs, doubling up to
     * maxOpenMs. While it is open, a pending deprovisioning probes the vendor every probeEveryMs (at most
     * retry.deprovisionMaxDelayMs), and the first success releases the held work.
     */
    circuit: z
      .object({
        failures: z.number().int().min(1).default(5),
        openMs: z.number().int().min(100).default(10_000),
        maxOpenMs: z.number().int().min(100).default(300_000),
        probeEveryMs: z.number().int().min(100).max(600_000).default(5_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type VendorConnection = z.infer<typeof VendorConnectionSchema>;

export const TargetSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "a target name is 1-63 lower-case letters, digits, '-' or '_'"),
    tokens: z.array(TokenSchema).min(1, "a target needs at least one bearer token"),
    /** What a successful PATCH answers: the resource (200) or nothing (204). Both are RFC 7644 §3.5.2. */
    patchResponse: z.enum(["resource", "no-content"]).default("resource"),
    /** Where this target's users go; without it the target is store-only (IdP setup tests, conformance). */
    vendor: VendorConnectionSchema.optional(),
    /**
     * What one filter no index answers may cost: the resources it may read (a target holding more answers
     * 400 before reading any) and the time it may take (beyond it, 503). Defaults: FILTER_BUDGET in the store.
     */
    filterBudget: z
      .object({ rows: z.number().int().min(0).optional(), ms: z.number().int().min(0).optional() })
      .strict()
      .optional(),
  })
  .strict();

const SqliteStoreSchema = z
  .object({
    kind: z.literal("sqlite"),
    path: z.string().min(1).default("./data/bridge.db"),
  })
  .strict();

const PostgresStoreSchema = z
  .object({
    kind: z.literal("postgres"),
    /** e.g. postgres://bridge@db.internal:5432/scim — reference secrets as ${ENV_VAR}. */
    url: z.string().min(1),
    poolSize: z.number().int().min(1).max(200).default(10),
    /** A schema of its own in the database (created if missing). */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "a plain lower-case schema name")
      .optional(),
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
        /** Serve HTTPS directly with this certificate chain and key (PEM files, read again on SIGHUP). */
        tls: z
          .object({ cert: z.string().min(1), key: z.string().min(1) })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    store: z.discriminatedUnion("kind", [SqliteStoreSchema, PostgresStoreSchema]).prefault({ kind: "sqlite" }),
    log: z
      .object({ level: z.enum(["error", "warn", "info", "debug"]).default("info") })
      .strict()
      .prefault({}),
    /** The outbox's workers in this process. */
    outbox: z
      .object({
        /** Work runs at once in this process (requests' own changes come on top). */
        concurrency: z.number().int().min(1).max(256).default(16),
        /** A crashed process's work falls back to the others after this long. */
        leaseMs: z.number().int().min(500).default(60_000),
        pollMs: z.number().int().min(10).default(250),
      })
      .strict()
      .prefault({}),
    /** Prometheus metrics: on the SCIM port at /metrics (`scimPort`), on a port of their own, or off. */
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        /** A separate listener for /metrics (recommended: keep it off the IdP-facing port); 0 lets the OS pick. */
        port: z.number().int().min(0).max(65535).optional(),
        host: z.string().default("127.0.0.1"),
      })
      .strict()
      .prefault({}),
    /**
     * The read-only status page at /status, for the people on call: off unless it has at least one admin
     * token (SHA-256 from `token mint`; never one of the IdPs' tokens).
     */
    status: z
      .object({ adminTokens: z.array(TokenSchema).default([]), refreshSeconds: z.number().int().min(1).max(300).default(5) })
      .strict()
      .prefault({}),
    /** The trail of vendor calls (what was called for whom, and the vendor's answer): how long it is kept. */
    audit: z
      .object({ retainDays: z.number().int().min(1, "keep the trail at least a day").default(365) })
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
  .strict()
  .superRefine((config, ctx) => {
    // An IdP's token opening the status page would show every target's state to one target's IdP.
    const idp = new Set(config.targets.flatMap((t) => t.tokens.map((tok) => tok.sha256)));
    config.status.adminTokens.forEach((tok, i) => {
      if (idp.has(tok.sha256))
        ctx.addIssue({
          code: "custom",
          path: ["status", "adminTokens", i, "sha256"],
          message: "an admin token must not be one of the targets' tokens: mint one of its own",
        });
    });
  });

export type Config = z.infer<typeof ConfigSchema>;
export type TargetConfig = z.infer<typeof TargetSchema>;
export type StoreConfig = Config["store"];

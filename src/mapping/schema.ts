/**
 * The mapping file format (mappings/*.yaml), as zod schemas. A mapping file is data an IAM administrator
 * reads and edits: which SCIM attribute feeds which vendor parameter, under which of the vendor's rules,
 * for each call the vendor has, and what each of its error codes means. Nothing in it can run code.
 */
import { z } from "zod";
import { PROTOCOLS } from "../vendors/protocols";
import { ERROR_CLASSES } from "../vendors/types";

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/** A named transform, with its arguments where it takes any. The set is closed. */
export const TransformSchema = z.union([
  z.enum(["trim", "lower", "upper", "e164", "epochMillis", "digits"]),
  z.object({ truncate: z.object({ chars: z.number().int().min(1).optional(), bytes: z.number().int().min(1).optional() }).strict() }).strict(),
  z.object({ replace: z.object({ pattern: z.string(), with: z.string() }).strict() }).strict(),
  z.object({ e164: z.object({ dashAfterCountryCode: z.boolean().default(false) }).strict() }).strict(),
  z.object({ join: z.string() }).strict(),
  z.object({ template: z.string() }).strict(),
]);
export type Transform = z.infer<typeof TransformSchema>;

/** One of the vendor's rules on a value; `why` says whose rule it is (shown to the IdP admin on violation). */
export const RuleSchema = z
  .object({
    minLength: z.number().int().min(0).optional(),
    maxLength: z.number().int().min(1).optional(),
    maxBytes: z.number().int().min(1).optional(),
    pattern: z.string().optional(),
    enum: z.array(Scalar).optional(),
    why: z.string().min(3),
  })
  .strict();

const FieldBase = {
  /** A SCIM path: `userName`, `name.givenName`, `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:department`. */
  from: z.string().optional(),
  /** Paths tried in order when `from` gives nothing. */
  fallback: z.union([z.string(), z.array(z.string())]).optional(),
  /** A fixed value; ${NAME} takes a target setting. */
  const: Scalar.optional(),
  /** The value another operation's parameter of the same name had when this user was created. */
  param: z.string().optional(),
  /** The vendor's key for this user, as recorded when the vendor acknowledged it (UserId, userAccount). */
  key: z.literal(true).optional(),
  /**
   * The vendor ids of the user's groups (a list), or `{ each: value }`: one value per group, where the
   * string "$id" (or "$id:integer") stands for the group's vendor id — paired lists, arrays of objects.
   */
  groups: z.union([z.literal(true), z.object({ each: z.unknown() }).strict()]).optional(),
  /** The vendor id of the group being acted on (group operations). */
  groupKey: z.literal(true).optional(),
  /** The bridge makes the value: a crypto-random password meeting `passwordRule`, when SCIM sent none. */
  generate: z.literal("password").optional(),
  default: Scalar.optional(),
  /** Enumeration: SCIM value (as text) → vendor value. Unlisted values fail unless `default` is set. */
  map: z.record(z.string(), Scalar).optional(),
  transform: z.array(TransformSchema).optional(),
  type: z.enum(["string", "integer", "boolean"]).optional(),
  /** The value is a list: RPC vendors get Name.1, Name.2 …, JSON vendors an array. */
  list: z.boolean().optional(),
  /** For list values: SCIM value → vendor value (a group's displayName → a skill group id, say). */
  table: z.record(z.string(), Scalar).optional(),
  /** What a list entry missing from `table` does: skip it, or reject the request. */
  unknown: z.enum(["skip", "reject"]).optional(),
  required: z.boolean().optional(),
  minLength: z.number().int().min(0).optional(),
  maxLength: z.number().int().min(1).optional(),
  maxBytes: z.number().int().min(1).optional(),
  pattern: z.string().optional(),
  enum: z.array(Scalar).optional(),
  /** Further rules, e.g. those of other calls that reuse this value as a key. */
  rules: z.array(RuleSchema).optional(),
  /** Never logged or shown in a preview. */
  secret: z.boolean().optional(),
};

export type FieldSpec = z.infer<z.ZodObject<typeof FieldBase>> & {
  items?: { from: string; fields: Record<string, FieldSpec> };
  object?: Record<string, FieldSpec>;
};

export const FieldSchema: z.ZodType<FieldSpec> = z.lazy(() =>
  z
    .object({
      ...FieldBase,
      /** An array of objects built from a multi-valued SCIM attribute (Huawei's skills). */
      items: z
        .object({ from: z.string(), fields: z.record(z.string(), FieldSchema) })
        .strict()
        .optional(),
      /** One object built from its own fields (with `list: true`, a one-element array of it). */
      object: z.record(z.string(), FieldSchema).optional(),
    })
    .strict()
    .refine((f) => [f.from, f.const, f.param, f.key, f.groups, f.groupKey, f.generate, f.items, f.object].filter((v) => v !== undefined).length <= 1, {
      message: "a field takes its value from one of from / const / param / key / groups / groupKey / generate / items / object",
    }),
);

export const OperationSchema = z
  .object({
    /** The vendor's action (RPC and JSON APIs) or path (Huawei). */
    call: z.string().min(1),
    /** A call to another product of the same vendor, signed the same way (Alibaba RAM for CCC logins). */
    api: z
      .object({ host: z.string().min(1), version: z.string().min(1) })
      .strict()
      .optional(),
    /**
     * update only: `patch` sends the parameters whose mapped value changed since the vendor last
     * acknowledged them (plus key and constants); `replace` sends the full set whenever anything changed.
     */
    mode: z.enum(["patch", "replace"]).optional(),
    params: z.record(z.string(), FieldSchema).default({}),
    /** Where the vendor's user id sits in the answer (dotted path inside the unwrapped result). */
    id: z.string().optional(),
    /** Where the vendor's key is one of our own parameters (Huawei's userAccount), its name. */
    keyParam: z.string().optional(),
    /** Answer paths that hold secrets (CIC returns an initial password): never logged, never stored. */
    secrets: z.array(z.string()).default([]),
    /** lookup only: where the list of users sits, and which of their fields must equal which create parameter. */
    results: z.string().optional(),
    match: z.object({ field: z.string(), param: z.string() }).strict().optional(),
    /**
     * list, lookup, findGroup: how pages are walked — a page number parameter, or a continuation token. Every
     * page is read (up to a bound), so a search with more look-alikes than one page still finds the one meant.
     */
    paging: z
      .union([
        z.object({ style: z.literal("page"), param: z.string(), first: z.number().int().min(0), size: z.number().int().min(1) }).strict(),
        z.object({ style: z.literal("token"), param: z.string(), next: z.string() }).strict(),
      ])
      .optional(),
    /** list only: where a vendor user's status is, and which values mean it cannot sign in. */
    status: z
      .object({ field: z.string(), disabled: z.array(z.string()) })
      .strict()
      .optional(),
    /** list only: vendor record field → update parameter, compared for drift. */
    compare: z.record(z.string(), z.string()).optional(),
    /** lookup only: the result field holding the email and the create parameter it must equal (adoptOnlyIf: emailMatches). */
    email: z.object({ field: z.string(), param: z.string() }).strict().optional(),
  })
  .strict();

const ErrorClasses = z
  .object({
    conflict: z.array(z.string()).default([]),
    notFound: z.array(z.string()).default([]),
    invalid: z.array(z.string()).default([]),
    throttled: z.array(z.string()).default([]),
    transient: z.array(z.string()).default([]),
    auth: z.array(z.string()).default([]),
    /**
     * What an HTTP status means at this vendor when no code above matched, where it differs from the usual
     * reading (5xx transient, 404 not found …): Huawei documents 500 as "business failure, check the
     * parameters", a permanent refusal.
     */
    statuses: z.record(z.string().regex(/^[1-5]\d\d$/, "an HTTP status such as 500"), z.enum(ERROR_CLASSES)).default({}),
  })
  .strict();

/**
 * Where a vendor's answer keeps its parts (dotted paths into the JSON body). Each protocol has defaults
 * (src/vendors/protocols.ts); a mapping's `api.envelope` overrides any of them for its vendor.
 */
export const EnvelopeSchema = z
  .object({
    /** The result of a successful call ("" for the whole body). */
    result: z.string(),
    /** The error code; present on every answer where `successCodes` says which ones are success. */
    code: z.string(),
    message: z.string(),
    requestId: z.string().optional(),
    /** Codes that mean success. Without it, any code present means failure. */
    successCodes: z.array(z.string()).optional(),
    /** With successCodes: an answer with no code at all is a success too (Alibaba's RAM answers carry none). */
    codeOptional: z.boolean().optional(),
    /** A field that, when present, must be true on success (Alibaba's `Success`). */
    successFlag: z.string().optional(),
  })
  .strict();
// Checked against the wire vocabulary's Envelope where a connector is built (provisioning/connectors.ts).

export const MappingSchema = z
  .object({
    /** The vendor's name, as messages and the vendor extension show it (lower case, digits, '-'). */
    vendor: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a vendor name is lower-case letters, digits and '-'"),
    description: z.string().optional(),
    /** What the API endpoint defaults to; a target may override each. */
    api: z
      .object({
        /** How requests are signed and answers opened: one of the protocols in src/vendors/protocols.ts. */
        protocol: z.enum(PROTOCOLS),
        host: z.string().min(1),
        version: z.string().min(1),
        region: z.string().optional(),
        service: z.string().optional(),
        /** Where this vendor's answers keep their result, error code, message and request id, if not where the protocol does. */
        envelope: EnvelopeSchema.partial().optional(),
        /** bearer-token-exchange: the token endpoint's path. */
        tokenPath: z.string().optional(),
      })
      .strict(),
    /** Values each target supplies (config `vendor.settings`, or the environment), used as ${NAME}. */
    settings: z
      .record(z.string(), z.object({ description: z.string(), required: z.boolean().default(true), default: z.string().optional() }).strict())
      .default({}),
    /** The rule generated passwords meet. */
    passwordRule: z
      .object({
        length: z.number().int().min(8).max(128).default(16),
        classes: z.array(z.enum(["upper", "lower", "digit", "special"])).min(1),
        special: z.string().default("!@#$%^*-_=+"),
      })
      .strict()
      .optional(),
    operations: z.object({ create: OperationSchema, lookup: OperationSchema.optional(), check: OperationSchema }).catchall(OperationSchema),
    /**
     * How SCIM groups reach the vendor. membership: the vendor has groups and add/remove calls (operations
     * addMember, removeMember; optional findGroup, createGroup, updateGroup, deleteGroup). userAttribute: groups are a field
     * of the user (fields with `groups:`), sent with the user's create and update calls.
     */
    groups: z
      .object({
        model: z.enum(["membership", "userAttribute"]),
        /**
         * How a SCIM group finds its vendor group, tried in order: table (the target's vendor.groups.map, by
         * displayName or externalId), displayName (a vendor group of that name: operation findGroup),
         * externalId (the IdP keeps the vendor's group id in the SCIM group's externalId).
         */
        resolveBy: z
          .array(z.enum(["table", "displayName", "externalId"]))
          .min(1)
          .default(["table", "displayName"]),
        /** A SCIM group none of those find: create the vendor group (operation createGroup), skip it, or reject it (400). */
        unknown: z.enum(["create", "skip", "reject"]).default("skip"),
      })
      .strict()
      .optional(),
    /** What deactivation, reactivation and renames do at this vendor. */
    lifecycle: z
      .object({
        /** disable: the vendor's status call (operations disable/enable); delete: remove the vendor user
         * (reactivation creates it again); none: the vendor is not told. */
        deactivate: z.enum(["disable", "delete", "none"]),
        /** The create sets the status itself (a SCIM POST with active:false creates the user disabled). */
        createsWithStatus: z.boolean().default(false),
        /** Create parameters the vendor never lets change (its login name). */
        immutable: z.array(z.string()).default([]),
        /** When one of them would change: reject (400 mutability) or delete and re-create the vendor user. */
        rename: z.enum(["reject", "recreate"]).default("reject"),
        /** Operations run after a create succeeds (Alibaba: set the RAM login password). */
        afterCreate: z.array(z.string()).default([]),
        /** Operations run before the vendor user is deleted (Alibaba: remove the RAM login). */
        beforeDelete: z.array(z.string()).default([]),
        /**
         * Error codes with which the vendor refuses to delete a user something still holds (entries as in
         * `errors`). Either way the user is first disabled (operation `disable`), so it loses access at once.
         * memberships: it is still in a group — the bridge takes it out of its groups, then deletes it.
         * manual: what holds it only an administrator can undo — the deletion stays pending, paged as a
         * refused deprovisioning, and goes through by itself once they have.
         */
        deleteBlocked: z
          .object({ memberships: z.array(z.string()).default([]), manual: z.array(z.string()).default([]) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({ deactivate: "none" }),
    errors: ErrorClasses.prefault({}),
  })
  .strict();

export type MappingFile = z.infer<typeof MappingSchema>;
export type OperationSpec = z.infer<typeof OperationSchema>;

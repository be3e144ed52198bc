/**
 * Property-based fuzzing of the SCIM surface (fast-check) against a live bridge with a store-only and a
 * sandbox-vendor target: POST/PUT/PATCH bodies, PATCH paths and values, filters and list parameters.
 * Whatever arrives: never a 5xx, never a stack trace or exception text, Object.prototype untouched, and a
 * user can still be deactivated afterwards. Bounded in time; the seed is fixed (FUZZ_SEED overrides it)
 * and fast-check prints it, with the shrunk input, on failure.
 */
import fc from "fast-check";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { CORE_GROUP, CORE_USER, PATCH_OP, startTestBridge, user, type TestBridge } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 20);
const TARGETS = ["plain", "vendor"] as const;
const prototypeNames = () => [Object.getOwnPropertyNames(Object.prototype).sort().join(), Object.getOwnPropertyNames(Array.prototype).sort().join()];
const pristine = prototypeNames();

let bridge: TestBridge;
let sandbox: VendorSandbox;
const ids: Record<(typeof TARGETS)[number], { user: string; group: string }> = { plain: { user: "", group: "" }, vendor: { user: "", group: "" } };

beforeAll(async () => {
  const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
  sandbox = cic.sandbox();
  const vendor = { ...cic.vendor(await sandbox.listen()), rateLimit: { perSecond: 10_000 } };
  bridge = await startTestBridge([{ name: "plain" }, { name: "vendor", vendor }], { env: ENV });
  for (const target of TARGETS) {
    ids[target].user = (
      await bridge
        .as(target)
        .post("/Users", user(`seed-${target}@example.com`))
        .expect(201)
    ).body.id;
    ids[target].group = (
      await bridge
        .as(target)
        .post("/Groups", { schemas: [CORE_GROUP], displayName: `seed-${target}` })
        .expect(201)
    ).body.id;
  }
});
afterAll(async () => {
  await bridge.close();
  await sandbox.close();
});

// ---- generators ----

const names = [
  "userName",
  "name",
  "givenName",
  "familyName",
  "emails",
  "value",
  "type",
  "primary",
  "active",
  "displayName",
  "members",
  "externalId",
  "phoneNumbers",
  "title",
  "manager",
  "$ref",
  "meta",
  "id",
  "schemas",
  "password",
  "groups",
];
const hostile = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "", " ", "\u0000", "a".repeat(2000)];
const urns = [CORE_USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", CORE_GROUP, "urn:x"];
const word = fc.oneof(fc.constantFrom(...names, ...hostile), fc.string({ maxLength: 12 }), fc.stringMatching(/^[A-Za-z$][A-Za-z0-9_$-]{0,10}$/));
const attrPath = fc.oneof(
  fc.array(word, { minLength: 1, maxLength: 4 }).map((parts) => parts.join(".")),
  fc.tuple(fc.constantFrom(...urns), word).map(([u, w]) => `${u}:${w}`),
  fc.tuple(word, word, fc.string({ maxLength: 8 }), fc.option(word)).map(([a, b, v, s]) => `${a}[${b} eq "${v}"]${s ? `.${s}` : ""}`),
  fc.string({ maxLength: 40 }),
);
const operator = fc.constantFrom("eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr", "EQ", "and", "or", "not", "[", "]", "(", ")");
const literal = fc.oneof(
  fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)),
  fc.constantFrom("true", "false", "null", "1e308", "-0", '"\\u0041"', '"\\\\"', '"\\q"', '"'),
  fc.integer().map(String),
);
const filter = fc.oneof(
  fc.tuple(attrPath, operator, literal).map(([a, o, v]) => `${a} ${o} ${v}`),
  fc.array(fc.oneof(attrPath, operator, literal), { maxLength: 12 }).map((t) => t.join(" ")),
  fc.string({ maxLength: 60 }),
);
const leaf = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom("True", "False", "", "1e300"));
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("value"), { maxLength: 4 }), fc.dictionary(word, tie("value"), { maxKeys: 5 })),
})).value;
const scimBody = fc
  .record(
    {
      schemas: fc.oneof(fc.constant([CORE_USER]), fc.constant([CORE_GROUP]), json),
      userName: fc.oneof(fc.emailAddress(), fc.string({ maxLength: 30 }), json),
      displayName: fc.oneof(fc.string({ maxLength: 30 }), json),
      name: json,
      emails: json,
      active: json,
      members: json,
      extra: json,
    },
    { requiredKeys: [] },
  )
  .chain((body) => fc.dictionary(word, json, { maxKeys: 3 }).map((more) => ({ ...body, ...more })));
const patchBody = fc.record(
  {
    schemas: fc.oneof(fc.constant([PATCH_OP]), json),
    Operations: fc.oneof(
      fc.array(
        fc.record(
          { op: fc.oneof(fc.constantFrom("add", "replace", "remove", "Add", "Replace", "Remove"), json), path: fc.oneof(attrPath, json), value: json },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
      json,
    ),
  },
  { requiredKeys: [] },
);
const listQuery = fc
  .record(
    {
      filter,
      attributes: fc.array(attrPath, { maxLength: 3 }).map((a) => a.join(",")),
      excludedAttributes: fc.array(attrPath, { maxLength: 3 }).map((a) => a.join(",")),
      sortBy: attrPath,
      sortOrder: fc.oneof(fc.constantFrom("ascending", "descending", "DESC"), fc.string({ maxLength: 8 })),
      startIndex: fc.oneof(fc.integer().map(String), fc.constantFrom("1e300", "-1", "0x10", "NaN", ""), fc.string({ maxLength: 6 })),
      count: fc.oneof(fc.integer().map(String), fc.constantFrom("1e300", "-5", "Infinity"), fc.string({ maxLength: 6 })),
    },
    { requiredKeys: [] },
  )
  .map((q) => new URLSearchParams(q as Record<string, string>).toString());
const target = fc.constantFrom(...TARGETS);
const kind = fc.constantFrom("Users", "Groups");

// ---- the property ----

function check(res: { status: number; text: string; body: Record<string, unknown> }, what: string): void {
  if (res.status >= 500) {
    const logged = bridge.logs.filter((l) => l.includes('"level":"error"')).at(-1) ?? "";
    throw new Error(`${what} answered ${res.status}: ${res.text.slice(0, 300)}\nlogged: ${logged.slice(0, 1500)}`);
  }
  if (/\bat .+\.(js|ts):\d+|TypeError|RangeError|ReferenceError|SyntaxError: Unexpected|Cannot read prop|is not a function|undefined is not/.test(res.text))
    throw new Error(`${what} leaked exception text: ${res.text.slice(0, 300)}`);
  if (res.status >= 400 && !(Array.isArray(res.body.schemas) && res.body.schemas[0] === "urn:ietf:params:scim:api:messages:2.0:Error"))
    throw new Error(`${what} answered ${res.status} without a SCIM error body: ${res.text.slice(0, 200)}`);
  const now = prototypeNames();
  if (now[0] !== pristine[0] || now[1] !== pristine[1]) throw new Error(`${what} changed a shared prototype`);
}

const raw = (t: (typeof TARGETS)[number], method: "post" | "put" | "patch", path: string, body: unknown) =>
  bridge.as(t)[method](path).send(JSON.stringify(body)).set("Content-Type", "application/scim+json");

const options = (name: string): fc.Parameters<unknown[]> => ({
  seed: SEED,
  numRuns: 1_000_000,
  interruptAfterTimeLimit: SECONDS * 1000,
  markInterruptAsFailure: false,
  reporter: (details) => {
    if (details.failed)
      throw new Error(
        `fuzz '${name}' failed with FUZZ_SEED=${SEED} (fast-check seed ${details.seed}, path ${details.counterexamplePath}):\n${String((details.errorInstance as Error)?.message ?? details.errorInstance)}\n${fc.defaultReportMessage(details)}`,
      );
  },
});

const timeout = (SECONDS + 20) * 1000;

it(
  `POST and PUT bodies (seed ${SEED})`,
  async () => {
    await fc.assert(
      fc.asyncProperty(target, kind, scimBody, fc.boolean(), async (t, k, body, put) => {
        const path = put ? `/${k}/${k === "Users" ? ids[t].user : ids[t].group}` : `/${k}`;
        check(await raw(t, put ? "put" : "post", path, body), `${put ? "PUT" : "POST"} ${path}`);
      }),
      options("bodies"),
    );
  },
  timeout,
);

it(
  `PATCH paths and values (seed ${SEED})`,
  async () => {
    await fc.assert(
      fc.asyncProperty(target, kind, patchBody, async (t, k, body) => {
        const path = `/${k}/${k === "Users" ? ids[t].user : ids[t].group}`;
        check(await raw(t, "patch", path, body), `PATCH ${path}`);
      }),
      options("patch"),
    );
  },
  timeout,
);

it(
  `filters and list parameters, GET and /.search (seed ${SEED})`,
  async () => {
    await fc.assert(
      fc.asyncProperty(target, kind, listQuery, fc.boolean(), fc.dictionary(word, json, { maxKeys: 4 }), async (t, k, query, single, search) => {
        const path = single ? `/${k}/${k === "Users" ? ids[t].user : ids[t].group}?${query}` : `/${k}?${query}`;
        check(await bridge.as(t).get(path), `GET ${path}`);
        const body = { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], ...Object.fromEntries(new URLSearchParams(query)), ...search };
        check(await raw(t, "post", `/${k}/.search`, body), `POST /${k}/.search`);
      }),
      options("lists"),
    );
  },
  timeout,
);

it("after the fuzzing, users are still created and deactivated on both targets", async () => {
  for (const t of TARGETS) {
    const created = (
      await bridge
        .as(t)
        .post("/Users", user(`after-${t}@example.com`))
        .expect(201)
    ).body;
    const res = await bridge
      .as(t)
      .patch(`/Users/${created.id}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "active", value: false }] })
      .expect(200);
    expect(res.body.active).toBe(false);
  }
  const vendorUser = [...sandbox.users.values()].find((u) => u.UserName === "after-vendor@example.com")!;
  expect(vendorUser.UserStatus).toBe("Disabled");
  expect(prototypeNames()).toEqual(pristine);
});

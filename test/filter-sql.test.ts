/**
 * The filter evaluated by the database agrees with the in-memory predicate: random users, random filters
 * (every operator, multi-valued and complex attributes, value filters, and/or/not, case, LIKE's own
 * characters), on both stores. Bounded runs from a fixed seed (fast-check prints it with any counterexample).
 */
import fc from "fast-check";
import type { Filter } from "scim2-parse-filter";
import { predicateOf } from "../src/scim-model/filter";
import { baseView } from "../src/scim/views";
import { postgresCondition, sqliteCondition } from "../src/store/resources/filter-sql";
import type { Stores } from "../src/store/stores";
import { STORES } from "./helpers/stores";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const SEED = 20261206;

/** Short strings from letters that differ by case, LIKE's wildcards and escape, and non-ASCII case pairs. */
const text = fc.array(fc.constantFrom("a", "A", "b", "%", "_", "\\", "ä", "Ä", " ", "@"), { maxLength: 4 }).map((cs) => cs.join(""));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const email = fc.record({ value: maybe(text), type: maybe(fc.constantFrom("work", "home", "Work")), primary: maybe(fc.boolean()) }, { requiredKeys: [] });
const userDoc = fc.record(
  {
    displayName: maybe(text),
    title: maybe(text),
    active: maybe(fc.boolean()),
    name: maybe(fc.record({ givenName: maybe(text), familyName: maybe(text) }, { requiredKeys: [] })),
    emails: maybe(fc.array(email, { maxLength: 3 })),
    [ENTERPRISE]: maybe(fc.record({ department: maybe(text), employeeNumber: maybe(text) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);

/** The stored form: absent values left out, as the store writes documents. */
function clean<T>(value: T): T {
  if (Array.isArray(value)) return value.map(clean) as T;
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, clean(v)]),
    ) as T;
  return value;
}

const stringPaths = [
  "userName",
  "USERNAME",
  "displayName",
  "title",
  "name.familyName",
  "name.givenName",
  "emails.value",
  "emails.type",
  "emails",
  `${ENTERPRISE}:department`,
  "id",
];
const compareOps = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"] as const;

const leaf: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({
    op: fc.constantFrom(...compareOps),
    attrPath: fc.constantFrom(...stringPaths),
    compValue: fc.oneof(text, fc.constant(null), fc.constant(5)),
  }) as fc.Arbitrary<Filter>,
  fc.record({
    op: fc.constantFrom("eq", "ne", "gt"),
    attrPath: fc.constantFrom("active", "emails.primary"),
    compValue: fc.oneof(fc.boolean(), fc.constantFrom("True", "false", "x")),
  }) as fc.Arbitrary<Filter>,
  fc.record({
    op: fc.constant("pr"),
    attrPath: fc.constantFrom("title", "name", "emails", "emails.type", `${ENTERPRISE}:department`, ENTERPRISE),
  }) as fc.Arbitrary<Filter>,
  fc.record({
    op: fc.constantFrom("gt", "le", "eq", "ne"),
    attrPath: fc.constantFrom("meta.created", "meta.lastModified"),
    compValue: fc.constantFrom("2000-01-01T00:00:00Z", "2999-01-01T00:00:00+02:00"),
  }) as fc.Arbitrary<Filter>,
);
const inner: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({ op: fc.constantFrom("eq", "co", "ne"), attrPath: fc.constantFrom("type", "value"), compValue: text }) as fc.Arbitrary<Filter>,
  fc.record({ op: fc.constant("pr"), attrPath: fc.constantFrom("type", "primary") }) as fc.Arbitrary<Filter>,
);
const valuePath: fc.Arbitrary<Filter> = fc.tuple(inner, fc.option(inner, { nil: undefined }), fc.boolean()).map(([a, b, negate]) => {
  const both: Filter = b ? { op: "and", filters: [a, b] } : a;
  return { op: "[]", attrPath: "emails", valFilter: negate ? { op: "not", filter: both } : both } as Filter;
});
const { filter } = fc.letrec<{ filter: Filter }>((tie) => ({
  filter: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    valuePath,
    fc.record({ op: fc.constantFrom("and", "or"), filters: fc.array(tie("filter"), { minLength: 2, maxLength: 3 }) }) as fc.Arbitrary<Filter>,
    fc.record({ op: fc.constant("not"), filter: tie("filter") }) as fc.Arbitrary<Filter>,
  ),
}));

describe.each(STORES)("$name: the filter in the database and in memory agree", (factory) => {
  let opened: Awaited<ReturnType<typeof factory.open>>;
  let store: Stores;
  let target = 0;
  beforeAll(async () => {
    opened = await factory.open();
    store = opened.store;
  });
  afterAll(async () => opened.dispose());

  it("translates every generated filter", () => {
    fc.assert(
      fc.property(filter, (f) => {
        expect(factory.name === "sqlite" ? sqliteCondition(f, "User") : postgresCondition(f, "User", 3)).toBeDefined();
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("on random users and filters", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(userDoc, { minLength: 1, maxLength: 12 }), fc.array(filter, { minLength: 1, maxLength: 8 }), async (docs, filters) => {
        const t = `p${target++}`;
        for (const [i, raw] of docs.entries()) {
          const doc = clean({ userName: `U${i}ä`, ...raw });
          const emails = ((doc.emails ?? []) as { value?: string }[]).flatMap((e) => (e.value ? [e.value] : []));
          await store.resources.create(t, "User", `${t}-id-${i}`, doc, { userName: doc.userName, emails, displayName: doc.displayName });
        }
        const all = (await store.resources.list(t, "User", { startIndex: 1, count: 100 })).resources;
        for (const f of filters) {
          const predicate = predicateOf(f, "User");
          const expected = all.filter((r) => predicate(baseView(r))).map((r) => r.id);
          const page = await store.resources.list(t, "User", { filter: f, startIndex: 1, count: 100 });
          expect({ filter: f, ids: page.resources.map((r) => r.id), total: page.total }).toEqual({ filter: f, ids: expected, total: expected.length });
        }
      }),
      { seed: SEED, numRuns: factory.name === "sqlite" ? 150 : 60 },
    );
  }, 60_000);
});

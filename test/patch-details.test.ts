/**
 * Every refusal of a PATCH says what to send instead: random operations (fixed seed, bounded runs) on
 * attributes of every shape never answer 5xx, JavaScript exception text, or the catch-all detail.
 */
import fc from "fast-check";
import { ENTERPRISE, patchOp, startTestBridge, user } from "./helpers/bridge";

const SEED = 3512;
const PATHS = [
  "name",
  "name.givenName",
  "emails",
  'emails[type eq "work"]',
  'emails[type eq "work"].value',
  "emails.value",
  ENTERPRISE,
  `${ENTERPRISE}:manager`,
  `${ENTERPRISE}:manager.value`,
  "meta",
  "id",
  "groups",
  "active",
  "userName",
  "addresses",
  "roles",
  "x509Certificates",
  'phoneNumbers[type eq "mobile"].value',
  "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
  "title",
  'addresses[type eq "work"].locality',
  "ims",
  "photos",
];
const VALUES = fc.oneof(
  fc.string({ maxLength: 5 }),
  fc.boolean(),
  fc.integer(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.record({ value: fc.string({ maxLength: 3 }), type: fc.string({ maxLength: 3 }) })), { maxLength: 2 }),
  fc.record({ value: fc.string({ maxLength: 3 }), schemas: fc.array(fc.string(), { maxLength: 1 }) }, { requiredKeys: [] }),
  fc.dictionary(
    fc.constantFrom("givenName", "value", "department", "manager", "type", "x", "locality"),
    fc.oneof(fc.string({ maxLength: 3 }), fc.integer(), fc.constant(null)),
    { maxKeys: 2 },
  ),
);
const OPERATION = fc.record({ op: fc.constantFrom("add", "replace", "remove"), path: fc.option(fc.constantFrom(...PATHS)), value: fc.option(VALUES) });
const UNHELPFUL = /could not be applied|Cannot (read|add|set)|undefined|not extensible|\(reading/;

it(`PATCH refusals say what to send instead (seed ${SEED})`, async () => {
  const bridge = await startTestBridge();
  try {
    const t = bridge.as("acme");
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(OPERATION, { minLength: 1, maxLength: 3 }), async (operations) => {
        const id = (await t.post("/Users", user(`u${n++}@example.com`, { [ENTERPRISE]: { department: "D", manager: { value: "m" } } })).expect(201)).body.id;
        const body = patchOp(
          ...operations.map((o) => ({ op: o.op, ...(o.path === null ? {} : { path: o.path }), ...(o.value === null ? {} : { value: o.value }) })),
        );
        const res = await t.patch(`/Users/${id}`, body);
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) expect(res.body.detail).not.toMatch(UNHELPFUL);
      }),
      { seed: SEED, numRuns: 500 },
    );
  } finally {
    await bridge.close();
  }
}, 120_000);

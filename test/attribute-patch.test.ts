/**
 * Simple-attribute PATCHes skip scimmy's PatchOp (src/scim/attribute-patch.ts). A differential property test
 * (fixed seed, bounded runs): for random operations on simple attributes, the direct path gives the same
 * document as scimmy's PatchOp, or refuses where scimmy refuses.
 */
import fc from "fast-check";
import SCIMMY from "scimmy";
import { applyAttributePatch, planAttributePatch } from "../src/scim/attribute-patch";
import { normalisePatch } from "../src/scim/compat";
import { UserResource } from "../src/scim-model/schema";
import { CORE_USER } from "./helpers/bridge";

const SEED = 7644;
const NAMES = [
  "displayName",
  "title",
  "nickName",
  "active",
  "userType",
  "locale",
  "timezone",
  "preferredLanguage",
  "profileUrl",
  "externalId",
  "userName",
  "DISPLAYNAME",
  "Active",
];
const VALUES = fc.oneof(fc.string({ maxLength: 12 }), fc.boolean(), fc.constantFrom("True", "false", "x@example.com"), fc.integer());

const operation = fc.oneof(
  fc.record({ op: fc.constantFrom("add", "replace", "Replace"), path: fc.constantFrom(...NAMES), value: VALUES }),
  fc.record({ op: fc.constantFrom("remove", "Remove"), path: fc.constantFrom(...NAMES.filter((n) => n.toLowerCase() !== "username")) }),
  fc.record({ op: fc.constantFrom("add", "replace"), value: fc.dictionary(fc.constantFrom(...NAMES), VALUES, { minKeys: 1, maxKeys: 3 }) }),
);

const STORED = {
  schemas: [CORE_USER],
  id: "u-1",
  userName: "ada@example.com",
  displayName: "Ada",
  title: "Countess",
  active: true,
  name: { givenName: "Ada", familyName: "Lovelace" },
  emails: [{ value: "ada@example.com", type: "work", primary: true }],
  meta: { resourceType: "User", created: "2026-01-01T00:00:00.000Z", lastModified: "2026-01-01T00:00:00.000Z", version: 'W/"1"' },
};

type Outcome = { refused: true } | { refused: false; document: Record<string, unknown> };

/** The document as stored: what the bridge keeps of a resource (documentOf drops id, meta, groups). */
function stored(instance: unknown): Record<string, unknown> {
  const document = JSON.parse(JSON.stringify(instance)) as Record<string, unknown>;
  for (const key of ["id", "meta", "groups", "schemas"]) delete document[key];
  return document;
}

async function throughScimmy(message: Record<string, unknown>): Promise<Outcome> {
  try {
    const before = new UserResource.schema(STORED as never, "out");
    const patched = await new SCIMMY.Messages.PatchOp(message as never).apply(before as never);
    return { refused: false, document: stored(new UserResource.schema((patched ?? before) as never, "in")) };
  } catch {
    return { refused: true };
  }
}

function direct(message: Record<string, unknown>): Outcome | undefined {
  const plan = planAttributePatch("User", message.Operations);
  if (!plan) return undefined;
  try {
    return { refused: false, document: stored(applyAttributePatch(STORED, plan).document) };
  } catch {
    return { refused: true };
  }
}

it(`simple-attribute PATCHes give what scimmy's PatchOp gives (seed ${SEED})`, async () => {
  let taken = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 4 }), async (operations) => {
      let message: Record<string, unknown>;
      try {
        message = normalisePatch("User", { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: operations }, STORED);
      } catch {
        return; // refused before either path runs
      }
      const mine = direct(message);
      if (!mine) return;
      taken++;
      const theirs = await throughScimmy(message);
      expect(mine.refused).toBe(theirs.refused);
      if (!mine.refused && !theirs.refused) expect(mine.document).toEqual(theirs.document);
    }),
    { seed: SEED, numRuns: 400 },
  );
  expect(taken).toBeGreaterThan(100);
});

it("anything but simple attributes goes the scimmy way", () => {
  for (const operations of [
    [{ op: "replace", path: "name.givenName", value: "A" }],
    [{ op: "add", path: "emails", value: [{ value: "b@example.com" }] }],
    [{ op: "replace", path: 'emails[type eq "work"].value', value: "c@example.com" }],
    [{ op: "replace", value: { displayName: "D", name: { givenName: "E" } } }],
    [{ op: "replace", path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", value: "R&D" }],
    [{ op: "replace", path: "password", value: "Secret-1" }],
    [{ op: "replace", path: "id", value: "x" }],
    [{ op: "replace", path: "displayName", value: null }],
  ])
    expect(planAttributePatch("User", operations)).toBeUndefined();
});

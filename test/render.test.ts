/**
 * Answers are rendered from stored views without scimmy's per-attribute coercion (src/scim/render.ts). Over a
 * varied set of stored users and groups and attribute projections, the rendering is byte-for-byte what
 * scimmy's coercion gives for the same view — except that `schemas` is always kept (RFC 7643 §3), which
 * scimmy drops under `attributes=`.
 */
import fc from "fast-check";
import type { ScimContext } from "../src/scim/context";
import { projectionOf, renderResource } from "../src/scim/render";
import { attributePaths, GroupResource, UserResource } from "../src/scim-model/schema";
import { groupViews, userViews } from "../src/scim/views";
import type { ResourceKind } from "../src/store/types";
import { CORE_GROUP, ENTERPRISE, startTestBridge, user, type TestBridge } from "./helpers/bridge";

const BASE = "https://bridge.example.com/scim/v2";

const USERS = [
  user("plain@example.com"),
  user("full@example.com", {
    externalId: "idp-00u1",
    displayName: "Ada Lovelace",
    nickName: "Ada",
    title: "Countess",
    userType: "Employee",
    preferredLanguage: "en-GB",
    locale: "en-GB",
    timezone: "Europe/London",
    name: { formatted: "Ada Lovelace", familyName: "Lovelace", givenName: "Ada", middleName: "King", honorificPrefix: "Lady" },
    emails: [
      { value: "ada@example.com", type: "work", primary: true },
      { value: "ada@home.example", type: "home" },
    ],
    phoneNumbers: [{ value: "+44 20 7946 0000", type: "work" }],
    addresses: [{ type: "work", streetAddress: "1 Analytical Way", locality: "London", postalCode: "N1", country: "GB", primary: true }],
    roles: [{ value: "Admin", type: "WindowsAzureActiveDirectoryRole", primary: false }],
    entitlements: [{ value: "engine" }],
    [ENTERPRISE]: { employeeNumber: "1815", department: "Mathematics", manager: { value: "babbage" } },
  }),
  user("inactive@example.com", { active: false, emails: [] }),
  user("unicode@example.com", { displayName: "Zoë Ünïcödé 雪", name: { givenName: "Zoë" } }),
];

const PROJECTIONS: { attributes?: string; excludedAttributes?: string }[] = [
  {},
  { excludedAttributes: "emails" },
  { excludedAttributes: "name.givenName,groups" },
  { excludedAttributes: `${ENTERPRISE}:manager` },
  { attributes: "userName" },
  { attributes: "userName,name,emails" },
  { attributes: "emails,meta" },
  { excludedAttributes: ENTERPRISE },
  // (attributes naming an extension or its attributes: scimmy fails with exception text there, the reason it
  // no longer renders answers; test/scim-exact.test.ts covers those projections)
];

let bridge: TestBridge;
let ctx: ScimContext;

beforeAll(async () => {
  bridge = await startTestBridge();
  const t = bridge.as("acme");
  const ids: string[] = [];
  for (const u of USERS) ids.push((await t.post("/Users", u).expect(201)).body.id);
  await t.post("/Groups", { schemas: [CORE_GROUP], displayName: "Engineers", members: ids.slice(0, 2).map((value) => ({ value })) }).expect(201);
  await t.post("/Groups", { schemas: [CORE_GROUP], displayName: "Empty" }).expect(201);
  ctx = { stores: bridge.stores, target: { name: "acme" }, request: { baseUrl: BASE }, scratch: { wantMembers: true } } as unknown as ScimContext;
});
afterAll(() => bridge.close());

async function views(kind: ResourceKind): Promise<Record<string, unknown>[]> {
  const page = await bridge.stores.resources.list("acme", kind, { startIndex: 1, count: 100 });
  return kind === "User" ? userViews(page.resources, ctx) : groupViews(page.resources, ctx);
}

/** What scimmy's coercion gives for the view: the answers before direct rendering. */
function throughScimmy(
  kind: ResourceKind,
  view: Record<string, unknown>,
  projection: { attributes?: string; excludedAttributes?: string },
): Record<string, unknown> {
  const Resource = kind === "User" ? UserResource : GroupResource;
  Resource.basepath(BASE);
  const filter = (new Resource(String(view.id), projection as never) as unknown as { attributes: unknown }).attributes;
  const coerced = JSON.parse(JSON.stringify(new Resource.schema(view as never, "out", Resource.basepath() as string, filter as never))) as Record<
    string,
    unknown
  >;
  // RFC 7643 §3: schemas is required in every answer; scimmy leaves it out under `attributes=`.
  return "schemas" in coerced ? coerced : { schemas: renderResource(kind, view, "").schemas, ...coerced };
}

describe.each(["User", "Group"] as const)("%s answers rendered directly", (kind) => {
  it.each(PROJECTIONS)("are byte-for-byte scimmy's for %j", async (projection) => {
    const all = await views(kind);
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const view of all) {
      if (kind === "Group" && JSON.stringify(projection).includes("name")) continue; // user attributes
      const location = `${BASE}/${kind}s/${String(view.id)}`;
      const direct = JSON.stringify(renderResource(kind, view, location, projectionOf(kind, projection.attributes, projection.excludedAttributes)));
      expect(direct).toBe(JSON.stringify(throughScimmy(kind, view, projection)));
    }
  });
});

describe("projections, property-based (fixed seed, bounded runs)", () => {
  const SEED = 20261206;
  const paths = attributePaths("User").filter((p) => !p.includes("$ref"));
  const randomCase = (text: string, flips: boolean[]) => [...text].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c.toLowerCase())).join("");
  const pick = fc.record({
    names: fc.uniqueArray(fc.constantFrom(...paths), { minLength: 1, maxLength: 4 }),
    flips: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    exclude: fc.boolean(),
  });

  it(`ignore the case of names, keep schemas and id, and return only what attributes names (seed ${SEED})`, async () => {
    const all = await views("User");
    fc.assert(
      fc.property(pick, fc.constantFrom(...all), ({ names, flips, exclude }, view) => {
        const list = names.join(",");
        const shaped = (text: string) => (exclude ? projectionOf("User", undefined, text) : projectionOf("User", text));
        const canonical = renderResource("User", view, "x", shaped(list));
        expect(renderResource("User", view, "x", shaped(randomCase(list, flips)))).toEqual(canonical);
        expect(canonical.schemas).toEqual(expect.any(Array));
        expect(canonical.id).toBe(view.id);
        if (!exclude) {
          // The top-level attribute each name reaches: the extension URN for `urn:…:User:manager.value`.
          const tops = new Set(names.map((n) => (n.startsWith("urn:") ? n.slice(0, n.lastIndexOf(":")) : n.split(".")[0])));
          for (const key of Object.keys(canonical)) if (key !== "schemas" && key !== "id") expect(tops.has(key)).toBe(true);
        } else {
          for (const name of names.filter((n) => !n.includes(".") && !n.startsWith("urn:") && n !== "id" && n !== "schemas"))
            expect(canonical[name]).toBeUndefined();
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

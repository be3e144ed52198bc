/**
 * How a resource goes out (src/scim/render.ts), case by case on views written here: the schema's order,
 * what is never returned, `schemas` and `meta`, extensions, and `attributes` / `excludedAttributes`
 * (RFC 7644 §3.4.2.5) with sub-attributes, value filters, extension URNs and case-insensitive names.
 */
import { project, projectionOf, renderResource, renderWhole } from "../src/scim/render";

const CORE = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const VENDOR = "urn:ietf:params:scim:schemas:extension:scim-bridge:vendor:2.0:User";
const LOCATION = "https://bridge.example/scim/v2/Users/u1";

/** A stored view as the store gives it, keys in no particular order. */
function view(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    emails: [
      { primary: true, type: "work", value: "ada@work.example" },
      { type: "home", value: "ada@home.example" },
    ],
    meta: { version: 'W/"3"', lastModified: "2026-02-01T00:00:00Z", created: "2026-01-01T00:00:00Z", resourceType: "User" },
    userName: "ada",
    name: { givenName: "Ada", familyName: "Lovelace" },
    schemas: [CORE, ENTERPRISE],
    id: "u1",
    active: true,
    [ENTERPRISE]: { department: "Maths", employeeNumber: "1815", manager: { value: "m-1", displayName: "Babbage" } },
    ...extra,
  };
}

const whole = (v: Record<string, unknown> = view()) => renderWhole("User", v, LOCATION);
const shaped = (attributes?: string, excluded?: string, v: Record<string, unknown> = view()) =>
  renderResource("User", v, LOCATION, projectionOf("User", attributes, excluded));

describe("a resource as it goes out whole", () => {
  it("schemas first, then the schema's attributes in its order, then each extension's", () => {
    expect(Object.keys(whole())).toEqual(["schemas", "id", "meta", "userName", "name", "active", "emails", ENTERPRISE]);
    expect(whole().schemas).toEqual([CORE, ENTERPRISE]);
  });

  it("meta in the RFC's order with the resource's location, nothing else", () => {
    expect(
      whole(view({ meta: { version: 'W/"3"', created: "c", extra: "x", resourceType: "User", lastModified: "m", location: "stale" } })).meta,
    ).toStrictEqual({
      resourceType: "User",
      created: "c",
      lastModified: "m",
      location: LOCATION,
      version: 'W/"3"',
    });
    expect(Object.keys(whole().meta as object)).toEqual(["resourceType", "created", "lastModified", "location", "version"]);
  });

  it("complex values with their sub-attributes in the schema's order, unknown ones left out", () => {
    const out = whole(view({ name: { givenName: "Ada", bogus: "x", familyName: "Lovelace", formatted: "Ada Lovelace" } }));
    expect(out.name).toStrictEqual({ formatted: "Ada Lovelace", familyName: "Lovelace", givenName: "Ada" });
    expect(Object.keys(out.name as object)).toEqual(["formatted", "familyName", "givenName"]);
    expect(out.emails).toStrictEqual([
      { value: "ada@work.example", type: "work", primary: true },
      { value: "ada@home.example", type: "home" },
    ]);
    expect(Object.keys((out.emails as object[])[0]!)).toEqual(["value", "type", "primary"]);
    expect(whole(view({ emails: ["bare"] })).emails).toEqual(["bare"]);
  });

  it("never the password, nor a null or absent value", () => {
    const out = whole(view({ password: "s3cret!", title: null, nickName: undefined, displayName: "" }));
    expect(out).not.toHaveProperty("password");
    expect(out).not.toHaveProperty("title");
    expect(out).not.toHaveProperty("nickName");
    expect(out.displayName).toBe("");
  });

  it("an extension only when it has a value, and listed in schemas only then", () => {
    const none = whole(view({ [ENTERPRISE]: { department: null }, schemas: [CORE] }));
    expect(none).not.toHaveProperty(ENTERPRISE);
    expect(none.schemas).toEqual([CORE]);
    expect(whole(view({ [ENTERPRISE]: "not an object", schemas: [CORE] }))).not.toHaveProperty(ENTERPRISE);
    const linked = whole(view({ [VENDOR]: { vendor: "tencent-cic", link: "created" }, schemas: [CORE] }));
    expect(linked.schemas).toEqual([CORE, ENTERPRISE, VENDOR]);
    expect(linked[ENTERPRISE]).toStrictEqual({ employeeNumber: "1815", department: "Maths", manager: { value: "m-1", displayName: "Babbage" } });
    expect(Object.keys(linked).slice(-2)).toEqual([ENTERPRISE, VENDOR]);
  });

  it("schemas: the core, the extensions with values, then any other the resource was written with, once each", () => {
    expect(whole(view({ schemas: [CORE, "urn:example:custom", ENTERPRISE, 7] })).schemas).toEqual([CORE, ENTERPRISE, "urn:example:custom"]);
    expect(whole(view({ schemas: undefined })).schemas).toEqual([CORE, ENTERPRISE]);
    expect(whole({ id: "u2", userName: "bob", schemas: [CORE] }).schemas).toEqual([CORE]);
    expect(whole({ id: "u2", userName: "bob", schemas: ["urn:example:custom"] }).schemas).toEqual([CORE, "urn:example:custom"]);
  });

  it("a group's members in the schema's order", () => {
    const group = renderWhole("Group", { displayName: "G", id: "g1", members: [{ type: "User", display: "Ada", value: "u1", $ref: "r" }] }, "loc");
    expect(group).toStrictEqual({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      id: "g1",
      displayName: "G",
      members: [{ value: "u1", display: "Ada", $ref: "r", type: "User" }],
    });
  });
});

describe("attributes: only what it names (with schemas and id)", () => {
  it("top-level names, case-insensitive, spaces and empty names ignored, in the resource's order", () => {
    const out = shaped(" EMAILS , ,userName ");
    expect(Object.keys(out)).toEqual(["schemas", "id", "userName", "emails"]);
    expect(out.emails).toEqual(whole().emails);
  });

  it("a sub-attribute: only it, in each entry of a list; entries left empty go", () => {
    expect(shaped("name.givenName")).toStrictEqual({ schemas: [CORE, ENTERPRISE], id: "u1", name: { givenName: "Ada" } });
    expect(shaped("emails.primary").emails).toStrictEqual([{ primary: true }]);
    // An object emptied by the projection stays (as scimmy has it); a list emptied goes.
    expect(shaped("name.middleName").name).toStrictEqual({});
    expect(shaped("emails.display")).not.toHaveProperty("emails");
  });

  it("a name and one of its sub-attributes: the whole attribute, whatever the order", () => {
    expect(shaped("name.givenName,name").name).toStrictEqual({ familyName: "Lovelace", givenName: "Ada" });
    expect(shaped("name,name.givenName").name).toStrictEqual({ familyName: "Lovelace", givenName: "Ada" });
  });

  it("a value filter keeps the entries it matches, whole or by sub-attribute", () => {
    expect(shaped('emails[type eq "work"]').emails).toStrictEqual([{ value: "ada@work.example", type: "work", primary: true }]);
    expect(shaped('emails[type eq "home"].value').emails).toStrictEqual([{ value: "ada@home.example" }]);
    expect(shaped('emails[type eq "fax"]')).not.toHaveProperty("emails");
  });

  it("value filters and plain names on one attribute are merged entry by entry", () => {
    expect(shaped('emails[type eq "work"],emails.type').emails).toStrictEqual([{ value: "ada@work.example", type: "work", primary: true }, { type: "home" }]);
    expect(shaped('emails.type,emails[type eq "work"].value').emails).toStrictEqual([{ value: "ada@work.example", type: "work" }, { type: "home" }]);
    expect(shaped('emails[type eq "work"].value,emails[primary eq true].primary').emails).toStrictEqual([{ value: "ada@work.example", primary: true }]);
    expect(shaped('emails[type eq "work"].value,emails[value co "home"]').emails).toStrictEqual([
      { value: "ada@work.example" },
      { value: "ada@home.example", type: "home" },
    ]);
  });

  it("an extension whole, or one of its attributes by its URN path", () => {
    expect(shaped(ENTERPRISE)[ENTERPRISE]).toStrictEqual(whole()[ENTERPRISE]);
    expect(shaped(`${ENTERPRISE}:department`)).toStrictEqual({ schemas: [CORE, ENTERPRISE], id: "u1", [ENTERPRISE]: { department: "Maths" } });
    expect(shaped(`${ENTERPRISE}:manager.value`)[ENTERPRISE]).toStrictEqual({ manager: { value: "m-1" } });
    expect(shaped(`${ENTERPRISE.toUpperCase()}:DEPARTMENT`)[ENTERPRISE]).toStrictEqual({ department: "Maths" });
    expect(shaped(`${CORE}:userName`)).toStrictEqual({ schemas: [CORE, ENTERPRISE], id: "u1", userName: "ada" });
  });

  it("id and schemas are there even when not named, and meta only when named", () => {
    expect(Object.keys(shaped("active"))).toEqual(["schemas", "id", "active"]);
    expect(shaped("meta.version").meta).toStrictEqual({ version: 'W/"3"' });
  });

  it("with both lists, attributes decides; an empty attributes list leaves excludedAttributes to act", () => {
    expect(Object.keys(shaped("userName", "userName"))).toEqual(["schemas", "id", "userName"]);
    expect(shaped(" , ", "emails")).not.toHaveProperty("emails");
    expect(shaped("", "emails")).toHaveProperty("userName");
    expect(shaped(undefined, undefined)).toStrictEqual(whole());
    expect(shaped(undefined, " ,")).toStrictEqual(whole());
  });
});

describe("excludedAttributes: all but what it names", () => {
  it("top-level names and sub-attributes; id and schemas always stay", () => {
    const out = shaped(undefined, "emails, NAME.givenName, id, schemas, meta.version");
    expect(Object.keys(out)).toEqual(["schemas", "id", "meta", "userName", "name", "active", ENTERPRISE]);
    expect(out.name).toStrictEqual({ familyName: "Lovelace" });
    expect(out.meta).not.toHaveProperty("version");
    expect(out.meta).toHaveProperty("location", LOCATION);
  });

  it("sub-attributes of a list, entry by entry; an object emptied stays, a list emptied goes", () => {
    expect(shaped(undefined, "emails.primary,emails.type").emails).toStrictEqual([{ value: "ada@work.example" }, { value: "ada@home.example" }]);
    expect(shaped(undefined, "name.givenName,name.familyName").name).toStrictEqual({});
    expect(shaped(undefined, "emails.value,emails.type,emails.primary")).not.toHaveProperty("emails");
  });

  it("with a value filter, only from the entries it matches", () => {
    expect(shaped(undefined, 'emails[type eq "home"].value').emails).toStrictEqual([
      { value: "ada@work.example", type: "work", primary: true },
      { type: "home" },
    ]);
    expect(shaped(undefined, "emails[primary eq true]").emails).toStrictEqual([{ value: "ada@home.example", type: "home" }]);
    expect(shaped(undefined, "emails[type pr]")).not.toHaveProperty("emails");
  });

  it("an extension whole, or one of its attributes", () => {
    const out = shaped(undefined, ENTERPRISE);
    expect(out).not.toHaveProperty(ENTERPRISE);
    expect(out.schemas).toEqual([CORE, ENTERPRISE]);
    expect(shaped(undefined, `${ENTERPRISE}:manager`)[ENTERPRISE]).toStrictEqual({ employeeNumber: "1815", department: "Maths" });
    expect(shaped(undefined, `${ENTERPRISE}:manager.displayName`)[ENTERPRISE]).toStrictEqual({
      employeeNumber: "1815",
      department: "Maths",
      manager: { value: "m-1" },
    });
  });

  it("names what the resource does not have: nothing changes", () => {
    expect(shaped(undefined, "title,nickName,x509Certificates.value")).toStrictEqual(whole());
  });
});

describe("project", () => {
  it("an empty projection returns the resource as it is", () => {
    const rendered = whole();
    expect(project(rendered, {})).toBe(rendered);
    expect(project(rendered, { exclude: [] })).toBe(rendered);
  });

  it("leaves values that are not objects alone where a projection reaches into them", () => {
    const odd = { ...whole(), name: "plain text" };
    expect(project(odd, projectionOf("User", undefined, "name.givenName")).name).toBe("plain text");
    expect(project(odd, projectionOf("User", "name.givenName"))).not.toHaveProperty("name");
  });
});

/**
 * The mapping compiler's rules, each through a small mapping written here: where a parameter's value comes
 * from, how it is mapped, transformed, defaulted and typed, which of the vendor's rules it must meet (and
 * what the IdP admin is told when it does not), what a call says about itself (identity, secrets), and what
 * a mapping file is refused for when it is loaded.
 */
import { CheckedMappingSchema, CompiledMapping, generatePassword, loadMapping, MappingViolationError, type BuildInput } from "../src/mapping/compile";
import { FileValidationError, keyOf } from "../src/config/yaml-file";
import type { FieldSpec } from "../src/mapping/schema";

type Params = Record<string, FieldSpec>;

/** A mapping of one vendor whose `create` call has `params`; `extra` is laid over the file. */
function mappingFile(params: Params, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    vendor: "test-vendor",
    api: { protocol: "tencent-tc3", host: "example.test", version: "1" },
    settings: { ZONE: { description: "the zone" }, REGION: { description: "the region", required: false, default: "cn-east" } },
    operations: { create: { call: "CreateUser", params }, check: { call: "ListUsers" } },
    passwordRule: { length: 16, classes: ["upper", "lower", "digit"] },
    ...extra,
  };
}

function compiled(params: Params, extra: Record<string, unknown> = {}): CompiledMapping {
  return new CompiledMapping(CheckedMappingSchema.parse(mappingFile(params, extra)), "test.yaml");
}

/** The create call's parameters for `user` (and the rest of the input). */
function paramsOf(params: Params, user: Record<string, unknown> = {}, input: Partial<BuildInput> = {}): Record<string, unknown> {
  return compiled(params).build("create", { user, settings: {}, ...input }).params;
}

/** The violations building the create call raises (it must raise some). */
function violationsOf(params: Params, user: Record<string, unknown> = {}, input: Partial<BuildInput> = {}) {
  try {
    paramsOf(params, user, input);
  } catch (error) {
    if (error instanceof MappingViolationError) return error.violations;
    throw error;
  }
  throw new Error("expected a violation");
}

const messagesOf = (params: Params, user: Record<string, unknown> = {}, input: Partial<BuildInput> = {}) =>
  violationsOf(params, user, input).map((v) => v.message);

/** What loading the file is refused for: "key: message" per issue (empty when it loads). */
function issuesOf(file: Record<string, unknown>): string[] {
  const parsed = CheckedMappingSchema.safeParse(file);
  if (parsed.success) return [];
  // The checks zod cannot express report as zod's custom issues, so a reader of the codes tells them from type errors.
  expect(parsed.error.issues.map((i) => i.code)).toEqual(parsed.error.issues.map(() => "custom"));
  return parsed.error.issues.map((i) => `${keyOf(i.path.filter((p) => typeof p !== "symbol"))}: ${i.message}`);
}

describe("where a parameter's value comes from", () => {
  it("const takes the target's ${NAME} settings, and a setting the target lacks leaves nothing, not the placeholder", () => {
    expect(paramsOf({ Zone: { const: "${ZONE}/users" } }, {}, { settings: { ZONE: "z-1" } })).toEqual({ Zone: "z-1/users" });
    expect(paramsOf({ Zone: { const: "${ZONE}/users" } })).toEqual({ Zone: "/users" });
    expect(messagesOf({ Zone: { const: "${ZONE}", required: true } })).toEqual(["Zone is required by the vendor and its source gives no value"]);
  });

  it("a non-text const goes out as written", () => {
    expect(paramsOf({ PageSize: { const: 100 }, Enabled: { const: true } })).toStrictEqual({ PageSize: 100, Enabled: true });
  });

  it("key and groupKey are the vendor's ids once known, and nothing before", () => {
    const params: Params = { UserId: { key: true }, GroupId: { groupKey: true } };
    expect(paramsOf(params, {}, { vendorKey: "v-1", groupKey: "g-9" })).toEqual({ UserId: "v-1", GroupId: "g-9" });
    expect(paramsOf(params)).toStrictEqual({});
    // As a list too: an empty one is not sent.
    const lists: Params = { UserIds: { key: true, list: true }, GroupIds: { groupKey: true, list: true } };
    expect(paramsOf(lists, {}, { vendorKey: "v-1", groupKey: "g-9" })).toEqual({ UserIds: ["v-1"], GroupIds: ["g-9"] });
    expect(paramsOf(lists)).toStrictEqual({});
  });

  it("groups: the vendor ids of the user's groups, as a list, or one value per group from `each`", () => {
    expect(paramsOf({ GroupIds: { groups: true } }, {}, { groups: ["7", "9"] })).toEqual({ GroupIds: ["7", "9"] });
    expect(paramsOf({ GroupIds: { groups: true, type: "integer" } }, {}, { groups: ["7", "9"] })).toEqual({ GroupIds: [7, 9] });
    const each: Params = { Groups: { groups: { each: { GroupId: "$id:integer", Role: "member", Path: ["root", "$id"] } } } };
    expect(paramsOf(each, {}, { groups: ["7", "9"] })).toEqual({
      Groups: [
        { GroupId: 7, Role: "member", Path: ["root", "7"] },
        { GroupId: 9, Role: "member", Path: ["root", "9"] },
      ],
    });
    expect(paramsOf({ Ids: { groups: { each: "$id" } } }, {}, { groups: ["a"] })).toEqual({ Ids: ["a"] });
    // A group's id stays as the vendor gave it where `each` is structured, whatever the field's type.
    expect(paramsOf({ Ids: { groups: { each: "$id:integer" }, type: "string" } }, {}, { groups: ["5"] })).toEqual({ Ids: [5] });
  });

  it("a user in no group sends no group parameter", () => {
    expect(paramsOf({ GroupIds: { groups: true }, Groups: { groups: { each: { Id: "$id" } } } })).toStrictEqual({});
    expect(paramsOf({ GroupIds: { groups: true } }, {}, { groups: [] })).toStrictEqual({});
  });

  it("param: the value the create call sent, a list as a list; nothing before the user was created", () => {
    const params: Params = { UserName: { param: "UserName" }, Tags: { param: "Tags", list: true } };
    expect(paramsOf(params, {}, { created: { UserName: "ada", Tags: ["a", "b"] } })).toEqual({ UserName: "ada", Tags: ["a", "b"] });
    expect(paramsOf(params, {}, { created: { Tags: "solo" } })).toEqual({ Tags: ["solo"] });
    expect(paramsOf(params)).toStrictEqual({});
  });

  it("from reads the SCIM path; the fallbacks are tried in order when it gives nothing", () => {
    const params: Params = {
      Display: { from: "displayName", fallback: ["name.formatted", "userName"] },
      Mail: { from: "emails[primary eq true].value", fallback: "emails.value" },
      Nick: { fallback: ["nickName", "userName"] },
    };
    expect(
      paramsOf(params, { userName: "ada", displayName: "Ada L", nickName: "Countess", emails: [{ value: "p@x", primary: true }, { value: "q@x" }] }),
    ).toEqual({
      Display: "Ada L",
      Mail: "p@x",
      Nick: "Countess",
    });
    expect(paramsOf(params, { userName: "ada", name: { formatted: "Ada F" }, emails: [{ value: "q@x" }] })).toEqual({
      Display: "Ada F",
      Mail: "q@x",
      Nick: "ada",
    });
    expect(paramsOf(params, { userName: "ada" })).toEqual({ Display: "ada", Nick: "ada" });
  });

  it("a single value is sent as one; a list field sends every value the path reaches", () => {
    const user = { emails: [{ value: "a@x" }, { value: "b@x" }] };
    expect(paramsOf({ Mail: { from: "emails.value" } }, user)).toEqual({ Mail: "a@x" });
    expect(paramsOf({ Mails: { from: "emails.value", list: true } }, user)).toEqual({ Mails: ["a@x", "b@x"] });
  });

  it("object: one object of its own fields, leaving out those without a value; a list of it under list: true", () => {
    const params: Params = {
      Page: { object: { Size: { const: 100, type: "integer" }, Title: { from: "title" }, Kind: { from: "userType", table: { Employee: "E" } } } },
      Filters: { list: true, object: { Key: { const: "name" }, Values: { from: "userName", list: true } } },
    };
    expect(paramsOf(params, { userName: "ada", userType: "Robot" })).toStrictEqual({
      Page: { Size: 100 },
      Filters: [{ Key: "name", Values: ["ada"] }],
    });
    expect(paramsOf(params, { userName: "ada", title: "Countess", userType: "Employee" })).toStrictEqual({
      Page: { Size: 100, Title: "Countess", Kind: "E" },
      Filters: [{ Key: "name", Values: ["ada"] }],
    });
  });

  it("items: one object per entry of a multi-valued attribute, its paths read in the entry; entries a table does not know are left out", () => {
    const params: Params = {
      Skills: {
        items: { from: "roles", fields: { Name: { from: "value" }, Level: { from: "type", table: { senior: "3", junior: "1" } }, Note: { from: "display" } } },
      },
    };
    const user = {
      roles: [
        { value: "voice", type: "senior" },
        { value: "chat", type: "intern" },
        { value: "mail", display: "Mail desk" },
      ],
    };
    expect(paramsOf(params, user)).toStrictEqual({
      Skills: [
        { Name: "voice", Level: "3" },
        { Name: "mail", Note: "Mail desk" },
      ],
    });
    expect(paramsOf(params, {})).toStrictEqual({});
  });

  it("a violation inside an object's or an item's fields is reported like any other", () => {
    const params: Params = {
      Page: { object: { Title: { from: "title", maxLength: 3 } } },
      Skills: { items: { from: "roles", fields: { Name: { from: "value", required: true, pattern: "^[a-z]+$" } } } },
    };
    expect(messagesOf(params, { title: "Countess", roles: [{ value: "Voice" }, { type: "x" }] })).toEqual([
      "Page.Title takes at most 3 characters; 'Countess' has 8",
      "Skills.Name must match ^[a-z]+$; 'Voice' does not",
      "Skills.Name is required by the vendor and value gives no value",
    ]);
  });
});

describe("generated passwords", () => {
  const TIMES = 200;
  const UPPER = /[A-Z]/;
  const LOWER = /[a-z]/;
  const DIGIT = /[0-9]/;

  it("have the rule's length, one character at least of each class, and no other class", () => {
    for (let i = 0; i < TIMES; i++) {
      const password = generatePassword({ length: 10, classes: ["upper", "digit"], special: "!" });
      expect(password).toMatch(/^[A-Z0-9]{10}$/);
      expect(password).toMatch(UPPER);
      expect(password).toMatch(DIGIT);
    }
    for (let i = 0; i < TIMES; i++) {
      const password = generatePassword({ length: 8, classes: ["lower", "special"], special: "#%" });
      expect(password).toMatch(/^[a-z#%]{8}$/);
      expect(password).toMatch(/[#%]/);
      expect(password).toMatch(LOWER);
    }
  });

  it("never use characters that read alike (0/O, 1/l/I)", () => {
    const all = Array.from({ length: TIMES }, () => generatePassword({ length: 32, classes: ["upper", "lower", "digit"], special: "" })).join("");
    expect(all).not.toMatch(/[0O1lI]/);
  });

  it("do not put each class in a fixed place", () => {
    // Unshuffled, the first character would always be of the first class.
    const firsts = Array.from({ length: TIMES }, () => generatePassword({ length: 8, classes: ["digit", "lower"], special: "" })[0]!);
    expect(firsts.some((c) => DIGIT.test(c))).toBe(true);
    expect(firsts.some((c) => LOWER.test(c))).toBe(true);
  });

  it("a generated password is the IdP's when it sent one, else one meeting the mapping's rule", () => {
    const rule = { passwordRule: { length: 12, classes: ["upper", "lower", "digit"] } };
    const mapping = compiled({ Password: { generate: "password" } }, rule);
    expect(mapping.build("create", { user: {}, settings: {}, password: "Given-1234" }).params).toEqual({ Password: "Given-1234" });
    expect(mapping.build("create", { user: {}, settings: {} }).params.Password).toMatch(/^[A-Za-z0-9]{12}$/);
  });

  it("an operation that generates one where the mapping declares no rule makes 16 characters of all four classes", () => {
    const mapping = compiled(
      { UserName: { from: "userName" } },
      {
        passwordRule: undefined,
        operations: {
          create: { call: "CreateUser", params: {} },
          check: { call: "ListUsers" },
          reset: { call: "Reset", params: { Password: { generate: "password" } } },
        },
      },
    );
    for (let i = 0; i < 50; i++) {
      const password = String(mapping.build("reset", { user: {}, settings: {} }).params.Password);
      expect(password).toHaveLength(16);
      for (const cls of [UPPER, LOWER, DIGIT, /[!@#$%^*\-_=+]/]) expect(password).toMatch(cls);
      expect(password).toMatch(/^[A-Za-z0-9!@#$%^*\-_=+]+$/);
    }
  });
});

describe("tables, maps, transforms, defaults", () => {
  it("a table maps each value, with settings; an entry it lacks is left out of a list, rejected under unknown: reject", () => {
    const table = { Admins: "role-${ZONE}-admin", Staff: "role-staff" };
    const user = { roles: [{ value: "Admins" }, { value: "Robots" }, { value: "Staff" }] };
    expect(paramsOf({ Roles: { from: "roles.value", list: true, table } }, user, { settings: { ZONE: "z1" } })).toEqual({
      Roles: ["role-z1-admin", "role-staff"],
    });
    expect(violationsOf({ Roles: { from: "roles.value", list: true, table, unknown: "reject" } }, user)).toEqual([
      { param: "Roles", scimAttribute: "roles.value", message: "'Robots' has no entry in Roles's table" },
    ]);
  });

  it("a single value a table does not know leaves the parameter out, required or not", () => {
    const params: Params = { Kind: { from: "userType", table: { Employee: "E" }, required: true }, Name: { from: "userName" } };
    expect(paramsOf(params, { userType: "Robot", userName: "ada" })).toStrictEqual({ Name: "ada" });
    expect(paramsOf(params, { userType: "Employee", userName: "ada" })).toStrictEqual({ Kind: "E", Name: "ada" });
  });

  it("a map turns the SCIM value into the vendor's; an unlisted one takes the default, or is a violation naming the known ones", () => {
    const map = { true: "Enabled", false: "Disabled" };
    expect(paramsOf({ Status: { from: "active", map } }, { active: false })).toEqual({ Status: "Disabled" });
    expect(paramsOf({ Kind: { from: "userType", map: { Employee: "E" }, default: "G" } }, { userType: "Robot" })).toEqual({ Kind: "G" });
    expect(violationsOf({ Kind: { from: "userType", map: { Employee: "E", Contractor: "C" } } }, { userType: "Robot" })).toEqual([
      { param: "Kind", scimAttribute: "userType", message: "Kind has no value for 'Robot'; known: Employee, Contractor" },
    ]);
    // Nothing to map is no violation.
    expect(paramsOf({ Status: { from: "active", map } })).toStrictEqual({});
  });

  it("a table or map answers only its own entries: a value named like Object.prototype's members is unlisted", () => {
    for (const name of Object.getOwnPropertyNames(Object.prototype)) {
      expect(paramsOf({ Kind: { from: "userType", table: { Employee: "E" } } }, { userType: name })).toStrictEqual({});
      expect(paramsOf({ Kind: { from: "userType", map: { Employee: "E" }, default: "G" } }, { userType: name })).toEqual({ Kind: "G" });
      expect(violationsOf({ Kind: { from: "userType", table: { Employee: "E" }, unknown: "reject" } }, { userType: name })).toHaveLength(1);
    }
    expect(paramsOf({ Kind: { from: "userType", map: { toString: "T" } } }, { userType: "toString" })).toEqual({ Kind: "T" });
  });

  it("transforms apply in order, with the target's phone region and the user's other attributes", () => {
    const params: Params = {
      Mobile: { from: "phoneNumbers.value", transform: ["e164"] },
      Display: { from: "userName", transform: [{ template: "{{ name.givenName }} <{{ value }}>" }, "upper"] },
    };
    expect(paramsOf(params, { userName: "ada@x", name: { givenName: "Ada" }, phoneNumbers: [{ value: "138 0013 8000" }] }, { phoneRegion: "CN" })).toEqual({
      Mobile: "+8613800138000",
      Display: "ADA <ADA@X>",
    });
  });

  it("a value a transform cannot take is the user's violation, and the parameter is not sent", () => {
    expect(violationsOf({ Mobile: { from: "phoneNumbers.value", transform: ["e164"], default: "x" } }, { phoneNumbers: [{ value: "12" }] })).toEqual([
      {
        param: "Mobile",
        scimAttribute: "phoneNumbers.value",
        message: "Mobile: '12' is not a phone number that can be written in international form; give it a +country code or set the target's phoneRegion",
      },
    ]);
    // A missing value is not transformed at all.
    expect(paramsOf({ Mobile: { from: "phoneNumbers.value", transform: ["e164"] } })).toStrictEqual({});
  });

  it("a mapping's own mistake inside a transform is not blamed on the user", () => {
    const file = CheckedMappingSchema.parse(mappingFile({ Name: { from: "userName" } }));
    file.operations.create.params.Name!.transform = [{ replace: { pattern: "(", with: "" } }];
    expect(() => new CompiledMapping(file, "test.yaml").build("create", { user: { userName: "ada" }, settings: {} })).toThrow(SyntaxError);
  });

  it("a default (with settings) stands in for no value, an empty text or an empty list", () => {
    const params: Params = { Region: { from: "locale", default: "${REGION}" }, Tags: { from: "entitlements.value", list: true, default: "none" } };
    expect(paramsOf(params, {}, { settings: { REGION: "cn-east" } })).toEqual({ Region: "cn-east", Tags: "none" });
    expect(paramsOf({ Note: { const: "", default: "n/a" } })).toEqual({ Note: "n/a" });
    expect(paramsOf({ Groups: { groups: true, default: "none" } }, {}, { groups: [] })).toEqual({ Groups: "none" });
    expect(paramsOf({ Region: { from: "locale", default: "cn" } }, { locale: "en-GB" })).toEqual({ Region: "en-GB" });
    expect(paramsOf({ Tags: { from: "entitlements.value", list: true, default: "none" } }, { entitlements: [{ value: "a" }] })).toEqual({ Tags: ["a"] });
  });

  it("an empty value of a field that is not required is left out", () => {
    expect(paramsOf({ Note: { const: "" }, Tags: { from: "entitlements.value", list: true } })).toStrictEqual({});
  });

  it("a required value that is missing names the SCIM attribute it comes from", () => {
    expect(violationsOf({ UserName: { from: "userName", required: true } })).toEqual([
      { param: "UserName", scimAttribute: "userName", message: "UserName is required by the vendor and userName gives no value" },
    ]);
    expect(violationsOf({ Skills: { items: { from: "roles", fields: { Name: { from: "value" } } }, required: true } })).toEqual([
      { param: "Skills", scimAttribute: "roles", message: "Skills is required by the vendor and roles gives no value" },
    ]);
    expect(violationsOf({ Password: { generate: "password", required: true, minLength: 30 } }, {}, { password: "short-Pass-1" })[0]).toMatchObject({
      scimAttribute: "password",
    });
  });
});

describe("types", () => {
  it("integer: a number from text, and a violation for what is no integer", () => {
    expect(paramsOf({ Age: { from: "title", type: "integer" } }, { title: "42" })).toStrictEqual({ Age: 42 });
    expect(violationsOf({ Age: { from: "title", type: "integer" } }, { title: "4.5" })).toEqual([
      { param: "Age", scimAttribute: "title", message: "Age must be an integer, not '4.5'" },
    ]);
  });

  it("boolean: true, or the text true in any case; anything else is false", () => {
    const params: Params = { On: { from: "active", type: "boolean" }, Flag: { from: "title", type: "boolean" } };
    expect(paramsOf(params, { active: true, title: "TRUE" })).toStrictEqual({ On: true, Flag: true });
    expect(paramsOf(params, { active: false, title: "yes" })).toStrictEqual({ On: false, Flag: false });
  });

  it("string: numbers go out as text; without a type a value goes out as it is", () => {
    expect(paramsOf({ Id: { const: 42, type: "string" }, N: { const: 42 } })).toStrictEqual({ Id: "42", N: 42 });
    expect(paramsOf({ Ids: { from: "entitlements.value", list: true, type: "integer" } }, { entitlements: [{ value: "1" }, { value: "2" }] })).toStrictEqual({
      Ids: [1, 2],
    });
  });

  it("objects and items are not turned into text", () => {
    expect(paramsOf({ Page: { object: { Size: { const: 1 } }, type: "string" } })).toStrictEqual({ Page: { Size: 1 } });
    expect(paramsOf({ Skills: { items: { from: "roles", fields: { N: { from: "value" } } }, type: "string" } }, { roles: [{ value: "v" }] })).toStrictEqual({
      Skills: [{ N: "v" }],
    });
  });
});

describe("the vendor's rules on a value", () => {
  it("each rule, at its boundary, in characters (not UTF-16 units) and UTF-8 bytes", () => {
    const params: Params = { Name: { from: "userName", minLength: 2, maxLength: 4, maxBytes: 9 } };
    for (const ok of ["ab", "abcd", "中文字", "😀😀", "a😀"]) expect(paramsOf(params, { userName: ok })).toEqual({ Name: ok });
    expect(messagesOf(params, { userName: "a" })).toEqual(["Name needs at least 2 characters; 'a' has 1"]);
    expect(messagesOf(params, { userName: "abcde" })).toEqual(["Name takes at most 4 characters; 'abcde' has 5"]);
    expect(messagesOf(params, { userName: "中文字符" })).toEqual(["Name takes at most 9 bytes (UTF-8); '中文字符' has 12"]);
    expect(messagesOf(params, { userName: "😀" })).toEqual(["Name needs at least 2 characters; '😀' has 1"]);
    expect(messagesOf(params, { userName: "😀😀😀" })).toEqual(["Name takes at most 9 bytes (UTF-8); '😀😀😀' has 12"]);
  });

  it("pattern and enum (an enum of numbers matches their text)", () => {
    const params: Params = { Name: { from: "userName", pattern: "^[a-z]+$" }, Level: { from: "title", enum: [1, 2, "top"] } };
    expect(paramsOf(params, { userName: "ada", title: "2" })).toEqual({ Name: "ada", Level: "2" });
    expect(messagesOf(params, { userName: "Ada", title: "3" })).toEqual([
      "Name must match ^[a-z]+$; 'Ada' does not",
      "Level must be one of 1, 2, top; '3' is not",
    ]);
  });

  it("further rules say whose they are; every value of a list is checked", () => {
    const params: Params = {
      Login: { from: "emails.value", list: true, maxLength: 10, rules: [{ pattern: "^[a-z@.]+$", why: "the RAM login name" }] },
    };
    expect(messagesOf(params, { emails: [{ value: "ada@x.io" }, { value: "Bob@example.com" }] })).toEqual([
      "Login takes at most 10 characters; 'Bob@example.com' has 15",
      "Login must match ^[a-z@.]+$; 'Bob@example.com' does not (the RAM login name)",
    ]);
  });

  it("a secret or generated value is never repeated in a message", () => {
    const secret = "hunter2!";
    for (const field of [{ from: "title", secret: true }, { generate: "password" }] as FieldSpec[]) {
      const violations = violationsOf(
        { Password: { ...field, minLength: 12, maxLength: 4, pattern: "^x$", enum: ["x"] } },
        { title: secret },
        { password: secret },
      );
      expect(violations).toHaveLength(4);
      for (const v of violations) {
        expect(v.message).not.toContain(secret);
        expect(v.message).toContain("the value");
      }
    }
  });

  it("the error lists every violation, each under its SCIM attribute (or the parameter where there is none)", () => {
    try {
      paramsOf({ Name: { from: "userName", maxLength: 2 }, Zone: { const: "${ZONE}", required: true } }, { userName: "ada" });
      throw new Error("expected a violation");
    } catch (error) {
      expect(error).toBeInstanceOf(MappingViolationError);
      expect((error as Error).name).toBe("MappingViolationError");
      expect((error as Error).message).toBe(
        "userName: Name takes at most 2 characters; 'ada' has 3; Zone: Zone is required by the vendor and its source gives no value",
      );
    }
  });

  it("structured values are checked by their own fields, not as text", () => {
    expect(paramsOf({ Page: { object: { Size: { const: 100 } }, maxLength: 3 } })).toEqual({ Page: { Size: 100 } });
  });
});

describe("the call an operation builds", () => {
  const mapping = compiled(
    {
      UserName: { from: "userName" },
      Zone: { const: "${ZONE}" },
      Password: { from: "title", secret: true },
      Initial: { generate: "password" },
    },
    {
      passwordRule: { length: 8, classes: ["lower"] },
      operations: {
        create: {
          call: "CreateUser",
          params: { UserName: { from: "userName" }, Zone: { const: "${ZONE}" }, Password: { from: "title", secret: true }, Initial: { generate: "password" } },
        },
        check: { call: "ListUsers" },
        update: {
          call: "UpdateUser",
          api: { host: "ram.example.test", version: "2" },
          params: { UserId: { key: true }, GroupId: { groupKey: true }, Name: { param: "UserName" }, Display: { from: "displayName" } },
        },
      },
    },
  );

  it("names its identity parameters and its secret ones, and the other API it goes to", () => {
    const input = { user: { userName: "ada", displayName: "Ada" }, settings: { ZONE: "z" }, vendorKey: "v1", groupKey: "g1", created: { UserName: "ada" } };
    expect(mapping.build("update", input)).toStrictEqual({
      operation: "update",
      call: "UpdateUser",
      api: { host: "ram.example.test", version: "2" },
      params: { UserId: "v1", GroupId: "g1", Name: "ada", Display: "Ada" },
      identity: ["UserId", "GroupId", "Name"],
      secretParams: [],
    });
    const create = mapping.build("create", { ...input, user: { userName: "ada", title: "s3cret" } });
    expect(create).toStrictEqual({
      operation: "create",
      call: "CreateUser",
      params: { UserName: "ada", Zone: "z", Password: "s3cret", Initial: expect.stringMatching(/^[a-z]{8}$/) },
      identity: ["Zone"],
      secretParams: ["Password", "Initial"],
    });
  });

  it("knows which operations it has, and refuses to build one it lacks", () => {
    expect(mapping.has("update")).toBe(true);
    expect(mapping.has("disable")).toBe(false);
    expect(mapping.vendor).toBe("test-vendor");
    expect(() => mapping.build("disable", { user: {}, settings: {} })).toThrow("test.yaml declares no 'disable' operation");
  });

  it("an optional operation given as undefined (a file put together in code) is not one it has", () => {
    const file = mappingFile({ UserName: { from: "userName" } });
    const parsed = CheckedMappingSchema.parse({ ...file, operations: { ...(file.operations as object), lookup: undefined } });
    const withUndefined = new CompiledMapping(parsed, "code");
    expect(withUndefined.has("lookup")).toBe(false);
    expect(withUndefined.has("create")).toBe(true);
  });

  it("the settings a target must give, and the defaults it may leave out", () => {
    const withSettings = compiled(
      {},
      {
        settings: {
          ZONE: { description: "z" },
          REGION: { description: "r", default: "cn-east" },
          OPTIONAL: { description: "o", required: false },
          TENANT: { description: "t", required: true },
        },
      },
    );
    expect(withSettings.requiredSettings()).toEqual(["ZONE", "TENANT"]);
    expect(withSettings.settingsWithDefaults({ ZONE: "z" })).toStrictEqual({ REGION: "cn-east", ZONE: "z" });
    expect(withSettings.settingsWithDefaults({ REGION: "eu" })).toStrictEqual({ REGION: "eu" });
  });
});

describe("loading a mapping file", () => {
  it("every shipped mapping loads, with its ${NAME} settings left for the target", () => {
    for (const vendor of ["aliyun-ccc", "huawei-aicc", "tencent-ciam", "tencent-cic", "volcengine-cloudidentity"]) {
      const mapping = loadMapping(`mappings/${vendor}.yaml`);
      expect(mapping.vendor).toBe(vendor);
      expect(mapping.source).toBe(`mappings/${vendor}.yaml`);
    }
    expect(loadMapping("mappings/tencent-ciam.yaml").file.operations.check.params.UserStoreId).toMatchObject({ const: "${CIAM_USER_STORE_ID}" });
  });

  it("a file that is missing or wrong is a FileValidationError", () => {
    expect(() => loadMapping("mappings/no-such-vendor.yaml")).toThrow(FileValidationError);
  });

  it("refuses paths that are no SCIM path, or name no attribute of the resource, with the nearest name", () => {
    expect(issuesOf(mappingFile({ A: { from: "emails[type eq" }, B: { from: "userName", fallback: ["usrName", "x[y"] }, C: { from: "displayNme" } }))).toEqual([
      "operations.create.params.A.from: 'emails[type eq' is not a SCIM attribute path",
      "operations.create.params.B.fallback: 'usrName' names no attribute of the SCIM User schema (did you mean 'userName'?)",
      "operations.create.params.B.fallback: 'x[y' is not a SCIM attribute path",
      "operations.create.params.C.from: 'displayNme' names no attribute of the SCIM User schema (did you mean 'displayName'?)",
    ]);
    expect(issuesOf(mappingFile({ B: { fallback: "nickname" } }))).toEqual([]);
    expect(issuesOf(mappingFile({ B: { from: "userName", fallback: "nick[" } }))).toEqual([
      "operations.create.params.B.fallback: 'nick[' is not a SCIM attribute path",
    ]);
  });

  it("reads an item's paths inside the entry, and checks the attribute the items come from", () => {
    const items = (from: string, fields: Params) => mappingFile({ Skills: { items: { from, fields } } });
    expect(issuesOf(items("roles", { N: { from: "value" }, T: { from: "type", fallback: "display" } }))).toEqual([]);
    expect(issuesOf(items("rolez", { N: { from: "a[b" }, O: { object: { P: { from: "c[d" } } } }))).toEqual([
      "operations.create.params.Skills.items: 'rolez' names no attribute of the SCIM User schema (did you mean 'roles'?)",
      "operations.create.params.Skills.items.fields.N.from: 'a[b' is not a SCIM attribute path",
      "operations.create.params.Skills.items.fields.O.object.P.from: 'c[d' is not a SCIM attribute path",
    ]);
    expect(issuesOf(mappingFile({ Page: { object: { T: { from: "titel" } } } }))).toEqual([
      "operations.create.params.Page.object.T.from: 'titel' names no attribute of the SCIM User schema (did you mean 'title'?)",
    ]);
  });

  it("reads a group operation's paths in the SCIM Group schema", () => {
    const withGroupOps = (from: string) =>
      mappingFile(
        {},
        {
          operations: {
            create: { call: "CreateUser", params: {} },
            check: { call: "ListUsers" },
            createGroup: { call: "CreateGroup", params: { Name: { from } } },
            findGroup: { call: "FindGroup", params: { Name: { from } } },
            deleteGroup: { call: "DeleteGroup", params: { Name: { from } } },
          },
        },
      );
    expect(issuesOf(withGroupOps("displayName"))).toEqual([]);
    expect(issuesOf(withGroupOps("userName")).map((i) => i.replace(/ \(did you mean.*/, ""))).toEqual(
      ["createGroup", "findGroup", "deleteGroup"].map((op) => `operations.${op}.params.Name.from: 'userName' names no attribute of the SCIM Group schema`),
    );
  });

  it("refuses regular expressions that do not compile, in a rule, a further rule or a replace", () => {
    expect(
      issuesOf(
        mappingFile({
          A: { from: "userName", pattern: "(" },
          B: {
            from: "userName",
            rules: [
              { pattern: "^a", why: "fine" },
              { pattern: "[", why: "broken" },
            ],
          },
          C: { from: "userName", transform: ["trim", { replace: { pattern: "a(", with: "" } }] },
        }),
      ),
    ).toEqual([
      "operations.create.params.A.pattern: '(' is not a valid regular expression",
      "operations.create.params.B.rules[1].pattern: '[' is not a valid regular expression",
      "operations.create.params.C.transform[1].replace.pattern: 'a(' is not a valid regular expression",
    ]);
  });

  it("refuses template placeholders that name no attribute", () => {
    expect(
      issuesOf(mappingFile({ A: { from: "userName", transform: [{ template: "{{ name.givenName }} {{ value }} {{ nmae.familyName }} {{ a[b }}" }] } })),
    ).toEqual([
      "operations.create.params.A.transform[0].template: 'nmae.familyName' names no attribute of the SCIM User schema (did you mean 'name.familyName'?)",
      "operations.create.params.A.transform[0].template: 'a[b' is not a SCIM attribute path",
    ]);
  });

  it("refuses ${NAME} placeholders the settings do not declare, in a const, a default or a table", () => {
    expect(
      issuesOf(
        mappingFile({
          A: { const: "${ZONE}-${NOPE}" },
          B: { from: "locale", default: "${REGION}${MISSING}" },
          C: { from: "roles.value", list: true, table: { Admins: "${TENANT}", Staff: 7 } },
        }),
      ),
    ).toEqual([
      "operations.create.params.A.const: ${NOPE} is not declared under settings",
      "operations.create.params.B.const: ${MISSING} is not declared under settings",
      "operations.create.params.C.const: ${TENANT} is not declared under settings",
    ]);
  });

  describe("refuses a lifecycle or group model whose operations are not declared", () => {
    const ops = (...names: string[]) => ({
      create: { call: "CreateUser", params: { UserName: { from: "userName" } } },
      check: { call: "ListUsers" },
      ...Object.fromEntries(names.map((n) => [n, { call: n }])),
    });
    const withOps = (names: string[], extra: Record<string, unknown>) => issuesOf(mappingFile({}, { operations: ops(...names), ...extra }));

    it("afterCreate, beforeDelete", () => {
      const lifecycle = { deactivate: "none", afterCreate: ["setLogin", "tag"], beforeDelete: ["unsetLogin"] };
      expect(withOps(["tag"], { lifecycle })).toEqual([
        "lifecycle.afterCreate[0]: operation 'setLogin' is not declared under operations",
        "lifecycle.beforeDelete[0]: operation 'unsetLogin' is not declared under operations",
      ]);
      expect(withOps(["tag", "setLogin", "unsetLogin"], { lifecycle })).toEqual([]);
    });

    it("deactivate: disable needs disable and enable; delete (or rename by recreate) needs delete", () => {
      expect(withOps(["enable"], { lifecycle: { deactivate: "disable" } })).toEqual([
        "lifecycle.deactivate: operation 'disable' is not declared under operations",
      ]);
      expect(withOps(["disable"], { lifecycle: { deactivate: "disable" } })).toEqual([
        "lifecycle.deactivate: operation 'enable' is not declared under operations",
      ]);
      expect(withOps(["disable", "enable"], { lifecycle: { deactivate: "disable" } })).toEqual([]);
      expect(withOps([], { lifecycle: { deactivate: "delete" } })).toEqual(["lifecycle: operation 'delete' is not declared under operations"]);
      expect(withOps([], { lifecycle: { deactivate: "none", rename: "recreate" } })).toEqual([
        "lifecycle: operation 'delete' is not declared under operations",
      ]);
      expect(withOps(["delete"], { lifecycle: { deactivate: "delete", rename: "recreate" } })).toEqual([]);
      expect(withOps([], { lifecycle: { deactivate: "none" } })).toEqual([]);
    });

    it("immutable parameters are create parameters", () => {
      expect(withOps([], { lifecycle: { deactivate: "none", immutable: ["UserName", "Login"] } })).toEqual([
        "lifecycle.immutable[1]: 'Login' is not a create parameter",
      ]);
    });

    it("groups by membership need addMember and removeMember, and findGroup to resolve by displayName", () => {
      const membership = { model: "membership", resolveBy: ["table"] };
      expect(withOps(["removeMember"], { groups: membership })).toEqual(["groups.model: operation 'addMember' is not declared under operations"]);
      expect(withOps(["addMember"], { groups: membership })).toEqual(["groups.model: operation 'removeMember' is not declared under operations"]);
      expect(withOps(["addMember", "removeMember"], { groups: membership })).toEqual([]);
      expect(withOps(["addMember", "removeMember"], { groups: { model: "membership", resolveBy: ["externalId", "displayName"] } })).toEqual([
        "groups.resolveBy: operation 'findGroup' is not declared under operations",
      ]);
      expect(withOps([], { groups: { model: "userAttribute", resolveBy: ["displayName"] } })).toEqual([]);
    });

    it("creating unknown groups needs createGroup", () => {
      expect(withOps([], { groups: { model: "userAttribute", resolveBy: ["table"], unknown: "create" } })).toEqual([
        "groups.unknown: operation 'createGroup' is not declared under operations",
      ]);
      expect(withOps(["createGroup"], { groups: { model: "userAttribute", resolveBy: ["table"], unknown: "create" } })).toEqual([]);
    });

    it("a deletion held up by memberships needs the membership model", () => {
      const lifecycle = { deactivate: "delete", deleteBlocked: { memberships: ["UserInGroup"] } };
      const why = "lifecycle.deleteBlocked.memberships: the bridge takes a user out of its vendor groups only under groups.model: membership";
      expect(withOps(["delete"], { lifecycle })).toEqual([why]);
      expect(withOps(["delete"], { lifecycle, groups: { model: "userAttribute", resolveBy: ["table"] } })).toEqual([why]);
      expect(withOps(["delete", "addMember", "removeMember"], { lifecycle, groups: { model: "membership", resolveBy: ["table"] } })).toEqual([]);
    });
  });

  it("a create that generates passwords needs the vendor's passwordRule", () => {
    const generates: Params = { Password: { generate: "password" } };
    expect(issuesOf(mappingFile(generates, { passwordRule: undefined }))).toEqual([
      "passwordRule: a mapping that generates passwords on create declares the vendor's passwordRule",
    ]);
    expect(issuesOf(mappingFile(generates, { passwordRule: { classes: ["lower"] } }))).toEqual([]);
  });
});

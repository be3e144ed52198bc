/**
 * The mapping language on its own: every transform, the SCIM paths (value filters, URNs, fallbacks), the
 * field sources and the constraints, each through a small mapping written here.
 */
import { CheckedMappingSchema, CompiledMapping, MappingViolationError } from "../src/mapping/compile";
import { resolvePath } from "../src/mapping/paths";
import { applyTransform, TransformError } from "../src/mapping/transforms";
import { parseYamlText } from "../src/config/yaml-file";
import { BaseConnector } from "../src/vendors/connector-base";
import { envelopeOf } from "../src/vendors/protocols";

const ctx = { defaultRegion: "CN", lookup: (path: string) => ({ "name.givenName": "Ada", userName: "ada@x" })[path] };

describe("transforms", () => {
  it.each([
    ["trim", "  a b  ", "a b"],
    ["lower", "AdA", "ada"],
    ["upper", "AdA", "ADA"],
    ["digits", "+86 138-0013-8000", "8613800138000"],
    ["e164", "138 0013 8000", "+8613800138000"],
    ["epochMillis", "2026-12-01T00:00:00Z", Date.parse("2026-12-01T00:00:00Z")],
  ])("%s", (name, input, output) => expect(applyTransform(input, name as never, ctx)).toBe(output));

  it("truncate counts characters, or UTF-8 bytes without splitting a character", () => {
    expect(applyTransform("abcdef", { truncate: { chars: 3 } }, ctx)).toBe("abc");
    expect(applyTransform("ab中文", { truncate: { bytes: 5 } }, ctx)).toBe("ab中");
  });
  it("replace, e164 with a dash, join, template", () => {
    expect(applyTransform("a@b.c", { replace: { pattern: "[^a-z]", with: "_" } }, ctx)).toBe("a_b_c");
    expect(applyTransform("13800138000", { e164: { dashAfterCountryCode: true } }, ctx)).toBe("+86-13800138000");
    expect(applyTransform(["a", "b"], { join: ";" }, ctx)).toBe("a;b");
    expect(applyTransform("x", { template: "{{ name.givenName }} <{{userName}}> {{value}}" }, ctx)).toBe("Ada <ada@x> x");
  });
  it("a value that is no phone number or date says so, and how to fix it", () => {
    expect(() => applyTransform("not a phone", "e164", ctx)).toThrow(TransformError);
    expect(() => applyTransform("12", "e164", ctx)).toThrow(
      new TransformError("'12' is not a phone number that can be written in international form (default region CN)"),
    );
    expect(() => applyTransform("12", "e164", { lookup: ctx.lookup })).toThrow(
      new TransformError("'12' is not a phone number that can be written in international form; give it a +country code or set the target's phoneRegion"),
    );
    expect(() => applyTransform("yesterday-ish", "epochMillis", ctx)).toThrow(/is not a date/);
  });
  it("takes numbers and booleans as their text", () => {
    expect(applyTransform(13800138000, "e164", ctx)).toBe("+8613800138000");
    expect(applyTransform(true, "upper", ctx)).toBe("TRUE");
    expect(applyTransform(1234567, { truncate: { chars: 3 } }, ctx)).toBe("123");
  });
  it("applies to each element of a list (join excepted)", () => expect(applyTransform([" a", "b "], "trim", ctx)).toEqual(["a", "b"]));
});

describe("SCIM paths", () => {
  const user = {
    userName: "ada",
    name: { givenName: "Ada" },
    emails: [
      { value: "home@x", type: "home" },
      { value: "work@x", type: "work", primary: true },
    ],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: "R&D", manager: { value: "m-1" } },
  };
  it.each([
    ["userName", ["ada"]],
    ["NAME.givenname", ["Ada"]],
    ["emails.value", ["home@x", "work@x"]],
    ["emails[primary eq true].value", ["work@x"]],
    ['emails[type eq "home"].value', ["home@x"]],
    ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", ["R&D"]],
    ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", ["m-1"]],
    ["title", []],
  ])("%s", (path, values) => expect(resolvePath(user, path)).toEqual(values));
});

const MAPPING = `
vendor: tencent-cic
api: { protocol: tencent-tc3, host: example.test, version: "1" }
settings:
  ZONE: { description: the zone }
operations:
  create:
    call: CreateUser
    params:
      Zone: { const: "\${ZONE}", required: true }
      UserName: { from: userName, required: true, maxLength: 8, pattern: "^[a-z]+$" }
      Display: { from: displayName, fallback: [name.formatted, userName] }
      Email: { from: "emails[primary eq true].value", fallback: emails.value, maxBytes: 12 }
      Status: { from: active, map: { true: Enabled, false: Disabled }, default: Enabled }
      Kind: { from: userType, enum: [Staff, Guest], default: Staff }
      Tags: { const: "a", list: true }
    id: UserId
  check: { call: ListUsers, params: {} }
lifecycle: { deactivate: none }
`;

describe("field sources and constraints", () => {
  const mapping = new CompiledMapping(parseYamlText(MAPPING, "inline.yaml", CheckedMappingSchema, { substitute: false }), "inline.yaml");
  const build = (user: Record<string, unknown>) => mapping.build("create", { user, settings: { ZONE: "z-1" } });

  it("const with a setting, from, fallback, map, default and list", () => {
    expect(build({ userName: "ada", name: { formatted: "Ada L" }, emails: [{ value: "a@x.io" }], active: false }).params).toEqual({
      Zone: "z-1",
      UserName: "ada",
      Display: "Ada L",
      Email: "a@x.io",
      Status: "Disabled",
      Kind: "Staff",
      Tags: ["a"],
    });
    expect(build({ userName: "bob" }).params).toMatchObject({ Display: "bob", Status: "Enabled" });
  });

  it("every broken rule is listed, naming the SCIM attribute", () => {
    try {
      build({ userName: "Way-Too-Long", emails: [{ value: "someone@example.com" }], userType: "Robot" });
      throw new Error("expected a violation");
    } catch (error) {
      expect(error).toBeInstanceOf(MappingViolationError);
      const text = (error as Error).message;
      expect(text).toMatch(/userName: .*8/);
      expect(text).toMatch(/emails.*12/);
      expect(text).toMatch(/userType|Kind/);
    }
  });

  it("a required value that is missing is a violation", () => expect(() => build({})).toThrow(/userName/));
});

describe("answer envelopes are data", () => {
  // The protocol's defaults, with a mapping's api.envelope laid over them.
  const mapping = new CompiledMapping(
    parseYamlText(
      MAPPING.replace(
        'api: { protocol: tencent-tc3, host: example.test, version: "1" }',
        'api: { protocol: bearer-token-exchange, host: example.test, version: "1", envelope: { result: data, code: status.code, successCodes: ["ok"], message: status.text, requestId: traceId } }',
      ),
      "inline.yaml",
      CheckedMappingSchema,
      { substitute: false },
    ),
    "inline.yaml",
  );
  class Open extends BaseConnector {
    async prepare(): Promise<never> {
      throw new Error("not sent");
    }
    open(status: number, body: Record<string, unknown>) {
      return this.parse({ status, headers: {}, text: "" }, body);
    }
  }
  const connector = new Open(
    "x",
    { host: "example.test", connectTo: {}, allowInsecureHttp: false, version: "1", timeouts: { connectMs: 100, headersMs: 100, bodyMs: 100 } },
    mapping.file.errors,
    envelopeOf("bearer-token-exchange", mapping.file.api.envelope),
  );

  it("reads the result, code, message and request id where the mapping says", () => {
    expect(connector.open(200, { status: { code: "ok" }, data: { id: 7 }, traceId: "t-1" })).toEqual({
      ok: true,
      result: { id: 7 },
      code: undefined,
      message: undefined,
      requestId: "t-1",
    });
    expect(connector.open(200, { status: { code: "E42", text: "no such user" }, traceId: "t-2" })).toMatchObject({
      ok: false,
      code: "E42",
      message: "no such user",
      requestId: "t-2",
    });
    expect(connector.open(200, { data: {} })).toMatchObject({ ok: false }); // a code is required where successCodes are given
  });
  it("keeps the protocol's defaults where the mapping says nothing", () => {
    const plain = new CompiledMapping(parseYamlText(MAPPING, "inline.yaml", CheckedMappingSchema, { substitute: false }), "inline.yaml");
    expect(envelopeOf("tencent-tc3", plain.file.api.envelope)).toEqual({
      result: "Response",
      code: "Response.Error.Code",
      message: "Response.Error.Message",
      requestId: "Response.RequestId",
    });
    const partial = new CompiledMapping(
      parseYamlText(MAPPING.replace('version: "1" }', 'version: "1", envelope: { requestId: Response.TraceId } }'), "inline.yaml", CheckedMappingSchema, {
        substitute: false,
      }),
      "inline.yaml",
    );
    expect(envelopeOf("tencent-tc3", partial.file.api.envelope)).toMatchObject({ result: "Response", requestId: "Response.TraceId" });
  });
});

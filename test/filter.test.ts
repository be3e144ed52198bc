import { indexLookupsOf, parseFilter, predicateOf, quoteBareValues } from "../src/scim-model/filter";

describe("quoteBareValues (Microsoft's unquoted filter values)", () => {
  it.each([
    ["name.familyName eq Employee", 'name.familyName eq "Employee"'],
    ["meta.created gt 2015-10-10T14:38:21.8617979-07:00", 'meta.created gt "2015-10-10T14:38:21.8617979-07:00"'],
    ['a eq Employee and (b co example.com or c co "x y")', 'a eq "Employee" and (b co "example.com" or c co "x y")'],
    ["active eq true", "active eq true"],
    ["count gt 5", "count gt 5"],
    ['userName eq "has eq inside"', 'userName eq "has eq inside"'],
    ["title pr", "title pr"],
  ])("%s", (input, output) => {
    expect(quoteBareValues(input)).toBe(output);
  });
});

describe("index planning", () => {
  it.each([
    ['userName eq "a"', [{ attribute: "userName", value: "a" }]],
    [
      'userName eq "a" or externalId eq "b"',
      [
        { attribute: "userName", value: "a" },
        { attribute: "externalId", value: "b" },
      ],
    ],
    ['title eq "x" and emails.value eq "m@x"', [{ attribute: "emails", value: "m@x" }]],
    ['emails[type eq "work" and value eq "m@x"]', [{ attribute: "emails", value: "m@x" }]],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"', [{ attribute: "userName", value: "a" }]],
    ['userName eq "a" or title eq "x"', undefined],
    ['userName sw "a"', undefined],
    ['not (userName eq "a")', undefined],
  ])("%s", (f, lookups) => {
    expect(indexLookupsOf(parseFilter(f), "User")).toEqual(lookups);
  });
});

describe("evaluation", () => {
  const doc = { userName: "Ann", emails: [{ value: "A@x.com", type: "work" }], id: "ABC", meta: { created: "2020-01-01T00:00:00Z" } };
  it("is case-insensitive except where the schema says caseExact", () => {
    expect(predicateOf(parseFilter('username EQ "ann"'), "User")(doc)).toBe(true);
    expect(predicateOf(parseFilter('id eq "abc"'), "User")(doc)).toBe(false);
  });
  it("compares dateTimes as instants", () => {
    expect(predicateOf(parseFilter('meta.created lt "2020-01-01T01:00:00+00:00"'), "User")(doc)).toBe(true);
  });
  it("rejects invalid syntax with invalidFilter", () => {
    expect(() => parseFilter('userName eq "a" and')).toThrow(expect.objectContaining({ name: "InvalidScimInput", scimType: "invalidFilter" }));
  });
});

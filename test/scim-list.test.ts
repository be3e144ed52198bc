import { CORE_USER, ENTERPRISE, startTestBridge, type TestBridge } from "./helpers/bridge";

let bridge: TestBridge;
const ids: Record<string, string> = {};

beforeAll(async () => {
  bridge = await startTestBridge([{ name: "acme" }], { maxResults: 50 });
  const people = [
    {
      userName: "anna",
      displayName: "Anna Ash",
      title: "Engineer",
      emails: [{ value: "anna@example.com", type: "work", primary: true }],
      active: true,
      [ENTERPRISE]: { employeeNumber: "3", department: "R&D" },
    },
    {
      userName: "bert",
      displayName: "Bert Birch",
      title: "Manager",
      emails: [{ value: "bert@example.org", type: "home" }],
      active: false,
      [ENTERPRISE]: { employeeNumber: "1" },
    },
    {
      userName: "cleo",
      displayName: "Cleo Cedar",
      emails: [
        { value: "cleo@example.com", type: "work" },
        { value: "cleo@home.net", type: "home" },
      ],
      active: true,
    },
    { userName: "dirk", displayName: "dirk damson", title: "Engineer", active: true, [ENTERPRISE]: { employeeNumber: "2" } },
  ];
  for (const p of people) {
    const res = await bridge
      .as("acme")
      .post("/Users", { schemas: [CORE_USER, ...(p[ENTERPRISE] ? [ENTERPRISE] : [])], ...p })
      .expect(201);
    ids[p.userName] = res.body.id;
  }
});
afterAll(async () => bridge.close());

async function names(query: string): Promise<string[]> {
  const res = await bridge.as("acme").get(`/Users?${query}`).expect(200);
  return res.body.Resources.map((r: { userName: string }) => r.userName);
}

const filter = (f: string) => names(`filter=${encodeURIComponent(f)}`);

describe("filters: every operator of RFC 7644 §3.4.2.2", () => {
  it.each([
    ['userName eq "ANNA"', ["anna"]],
    ['userName ne "anna"', ["bert", "cleo", "dirk"]],
    ['displayName co "ir"', ["bert", "dirk"]],
    ['displayName sw "c"', ["cleo"]],
    ['displayName ew "SON"', ["dirk"]],
    ["title pr", ["anna", "bert", "dirk"]],
    [`${ENTERPRISE}:employeeNumber gt "1"`, ["anna", "dirk"]],
    [`${ENTERPRISE}:employeeNumber ge "2"`, ["anna", "dirk"]],
    [`${ENTERPRISE}:employeeNumber lt "2"`, ["bert"]],
    [`${ENTERPRISE}:employeeNumber le "2"`, ["bert", "dirk"]],
    ["active eq false", ["bert"]],
    ['title eq "Engineer" and active eq true', ["anna", "dirk"]],
    ['userName eq "anna" or userName eq "bert"', ["anna", "bert"]],
    ['not (title eq "Engineer")', ["bert", "cleo"]],
    ['not (title eq "Engineer" and userName eq "anna")', ["bert", "cleo", "dirk"]],
    ['emails[type eq "work" and value ew "example.com"]', ["anna", "cleo"]],
    ['emails[type eq "home"]', ["bert", "cleo"]],
    ['emails.value co "home.net"', ["cleo"]],
    ['emails co "example.org"', ["bert"]],
    [`${ENTERPRISE}:department eq "r&d"`, ["anna"]],
    ['meta.created gt "2000-01-01T00:00:00Z"', ["anna", "bert", "cleo", "dirk"]],
    ['meta.created lt "2000-01-01T00:00:00Z"', []],
    ['userName eq "nobody"', []],
  ])("%s", async (f, expected) => {
    expect((await filter(f as string)).sort()).toEqual(expected);
  });

  it("ids are caseExact", async () => {
    expect(await filter(`id eq "${ids.anna}"`)).toEqual(["anna"]);
    expect(await filter(`id eq "${ids.anna!.toUpperCase()}"`)).toEqual([]);
  });

  it("meta.version and meta itself (no column holds them) are matched like any attribute", async () => {
    const anna = (await bridge.as("acme").get(`/Users/${ids.anna}`).expect(200)).body;
    expect(await filter(`meta.version eq ${JSON.stringify(anna.meta.version)}`)).toEqual(["anna", "bert", "cleo", "dirk"]);
    expect(await filter('meta.version eq "W/\\"999\\""')).toEqual([]);
    expect(await filter("meta pr")).toEqual(["anna", "bert", "cleo", "dirk"]);
  });
});

describe("filters that cannot be answered as asked are 400 invalidFilter, never an empty list", () => {
  it.each([
    ['nosuchattr eq "x"', "nosuchattr"],
    ['userName eq "anna" or nosuchattr eq "x"', "nosuchattr"],
    ['emails[nosuchsub eq "work"]', "nosuchsub"],
    ["name.nosuchpart pr", "name.nosuchpart"],
  ])("%s names an attribute the schemas do not define", async (f, named) => {
    const res = await bridge
      .as("acme")
      .get(`/Users?filter=${encodeURIComponent(f)}`)
      .expect(400);
    expect(res.body.scimType).toBe("invalidFilter");
    expect(res.body.detail).toContain(`'${named}'`);
    expect(res.body.detail).toContain("/Schemas");
  });

  it.each(['meta.lastModified gt "yesterday"', "meta.lastModified ge 5", 'meta.created lt "2026-13-45"'])("%s compares a dateTime with no date", async (f) => {
    const res = await bridge
      .as("acme")
      .get(`/Users?filter=${encodeURIComponent(f)}`)
      .expect(400);
    expect(res.body.scimType).toBe("invalidFilter");
    expect(res.body.detail).toMatch(/is a dateTime: compare it with a date/);
  });

  it("attribute names in filters stay case-insensitive", async () => {
    expect(await filter('USERNAME eq "anna"')).toEqual(["anna"]);
    expect(await filter('EMAILS.VALUE eq "bert@example.org"')).toEqual(["bert"]);
    expect(await filter('META.LASTMODIFIED gt "2000-01-01T00:00:00Z" and userName eq "cleo"')).toEqual(["cleo"]);
  });
});

describe("paging, sorting, projection", () => {
  it("startIndex and count are integers and cut the page the store returns (startIndex=2&count=2)", async () => {
    const res = await bridge.as("acme").get("/Users?startIndex=2&count=2").expect(200);
    expect(res.body).toMatchObject({ startIndex: 2, itemsPerPage: 2, totalResults: 4 });
    expect(res.body.Resources.map((r: { userName: string }) => r.userName)).toEqual(["bert", "cleo"]);
  });

  it("pages a filtered result", async () => {
    const res = await bridge
      .as("acme")
      .get(`/Users?filter=${encodeURIComponent("active eq true")}&startIndex=2&count=1`)
      .expect(200);
    expect(res.body).toMatchObject({ startIndex: 2, itemsPerPage: 1, totalResults: 3 });
    expect(res.body.Resources[0].userName).toBe("cleo");
  });

  it("count=0 answers only the total; startIndex beyond the end answers an empty page", async () => {
    const zero = await bridge.as("acme").get("/Users?count=0").expect(200);
    expect(zero.body).toMatchObject({ totalResults: 4, itemsPerPage: 0, Resources: [] });
    const past = await bridge.as("acme").get("/Users?startIndex=10").expect(200);
    expect(past.body).toMatchObject({ totalResults: 4, itemsPerPage: 0, startIndex: 10 });
  });

  it("count is capped at maxResults", async () => {
    const res = await bridge.as("acme").get("/Users?count=5000").expect(200);
    expect(res.body.itemsPerPage).toBe(4);
    const cfg = await bridge.as("acme").get("/ServiceProviderConfig").expect(200);
    expect(cfg.body.filter.maxResults).toBe(50);
  });

  it("a non-integer count is 400 invalidValue", async () => {
    const res = await bridge.as("acme").get("/Users?count=ten").expect(400);
    expect(res.body.scimType).toBe("invalidValue");
  });

  it("sortBy and sortOrder, by an indexed column and by any attribute", async () => {
    expect(await names("sortBy=displayName&sortOrder=descending")).toEqual(["dirk", "cleo", "bert", "anna"]);
    expect(await names(`sortBy=${ENTERPRISE}:employeeNumber`)).toEqual(["bert", "dirk", "anna", "cleo"]);
    expect(await names("sortBy=emails.value")).toEqual(["anna", "bert", "cleo", "dirk"]);
    await bridge.as("acme").get("/Users?sortBy=userName&sortOrder=sideways").expect(400);
  });

  it("attributes and excludedAttributes", async () => {
    const only = await bridge.as("acme").get("/Users?attributes=userName,emails").expect(200);
    const first = only.body.Resources[0];
    expect(first.userName).toBe("anna");
    expect(first.emails).toBeDefined();
    expect(first.displayName).toBeUndefined();
    expect(first.id).toBeDefined();
    const without = await bridge.as("acme").get(`/Users/${ids.anna}?excludedAttributes=emails,title`).expect(200);
    expect(without.body.emails).toBeUndefined();
    expect(without.body.title).toBeUndefined();
    expect(without.body.displayName).toBe("Anna Ash");
  });

  it("POST /Users/.search takes the same parameters in a body", async () => {
    const res = await bridge
      .as("acme")
      .post("/Users/.search", {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        filter: 'title eq "Engineer"',
        attributes: ["userName"],
        sortBy: "userName",
        sortOrder: "descending",
        startIndex: 1,
        count: 10,
      })
      .expect(200);
    expect(res.body.totalResults).toBe(2);
    expect(res.body.Resources.map((r: { userName: string }) => r.userName)).toEqual(["dirk", "anna"]);
    expect(res.body.Resources[0].title).toBeUndefined();
  });
});

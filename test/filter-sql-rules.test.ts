/**
 * Filter-to-SQL (src/store/filter-sql.ts) case by case: a handful of stored users and groups, and for each
 * filter the resources it must match — answered by SQLite and by PostgreSQL (the real server) from the
 * conditions alone, and by the in-memory predicate. Then what the translation leaves to the predicate, and
 * which filters the time index answers.
 */
import Database from "better-sqlite3";
import { Client } from "pg";
import { parseFilter, predicateOf } from "../src/scim-model/filter";
import { postgresCondition, sqliteCondition, timeRangeOf } from "../src/store/resources/filter-sql";
import type { ResourceKind } from "../src/store/types";
import { POSTGRES_URL } from "./helpers/stores";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const VENDOR = "urn:ietf:params:scim:schemas:extension:scim-bridge:vendor:2.0:User";

interface Row {
  id: string;
  kind: ResourceKind;
  created: string;
  lastModified: string;
  doc: Record<string, unknown>;
}

const ROWS: Row[] = [
  {
    id: "u1",
    kind: "User",
    created: "2026-01-01T00:00:00.000Z",
    lastModified: "2026-03-01T00:00:00.000Z",
    doc: {
      userName: "Ada",
      displayName: "Ada Lovelace",
      title: "Countess",
      nickName: "O'Hara",
      active: true,
      name: { givenName: "Ada", familyName: "Lovelace" },
      emails: [
        { value: "ada@Work.example", type: "work", primary: true },
        { value: "ada@home.example", type: "home" },
      ],
      [ENTERPRISE]: { department: "Maths", employeeNumber: "1815", manager: { value: "m-1" } },
    },
  },
  {
    id: "u2",
    kind: "User",
    created: "2026-01-02T00:00:00.000Z",
    lastModified: "2026-01-02T00:00:00.000Z",
    doc: { userName: "bob", title: "", active: false, name: {}, emails: [], [ENTERPRISE]: {} },
  },
  {
    id: "u3",
    kind: "User",
    created: "2026-01-03T00:00:00.000Z",
    lastModified: "2026-02-01T00:00:00.000Z",
    doc: { userName: "carol", displayName: "Ünïcode", title: "Zeta", emails: [{ value: "c@x", type: "Work" }], roles: [{ value: "Admin" }] },
  },
  { id: "u4", kind: "User", created: "2026-01-04T00:00:00.000Z", lastModified: "2026-01-04T00:00:00.000Z", doc: { userName: "dave", displayName: null } },
  {
    id: "g1",
    kind: "Group",
    created: "2026-01-05T00:00:00.000Z",
    lastModified: "2026-01-05T00:00:00.000Z",
    doc: { displayName: "Engineers", members: [{ value: "u1", type: "User" }] },
  },
];

/** The view the predicate reads: the document with id and meta. */
const viewOf = (row: Row) => ({
  ...row.doc,
  id: row.id,
  meta: { resourceType: row.kind, created: row.created, lastModified: row.lastModified },
});

let sqlite: Database.Database;
let pg: Client;

beforeAll(async () => {
  sqlite = new Database(":memory:");
  sqlite.function("scim_lower", { deterministic: true }, (text: unknown) => (typeof text === "string" ? text.toLowerCase() : text));
  sqlite.exec("CREATE TABLE resources (id TEXT, kind TEXT, created TEXT, last_modified TEXT, doc TEXT)");
  const insert = sqlite.prepare("INSERT INTO resources VALUES (?, ?, ?, ?, ?)");
  for (const r of ROWS) insert.run(r.id, r.kind, r.created, r.lastModified, JSON.stringify(r.doc));
  pg = new Client({ connectionString: POSTGRES_URL });
  await pg.connect();
  await pg.query("CREATE TEMP TABLE resources (target TEXT, kind TEXT, id TEXT, created TEXT, last_modified TEXT, doc JSONB)");
  for (const r of ROWS)
    await pg.query("INSERT INTO resources VALUES ('t', $1, $2, $3, $4, $5)", [r.kind, r.id, r.created, r.lastModified, JSON.stringify(r.doc)]);
});
afterAll(async () => {
  sqlite.close();
  await pg.end();
});

/** The ids each evaluator matches for `text`, among the resources of `kind`. */
async function matches(text: string, kind: ResourceKind = "User") {
  const filter = parseFilter(text);
  const lite = sqliteCondition(filter, kind);
  const post = postgresCondition(filter, kind, 3);
  if (!lite || !post) throw new Error(`'${text}' was not translated`);
  const sqliteIds = (
    sqlite.prepare(`SELECT id FROM resources WHERE kind = @kind AND (${lite.sql}) ORDER BY id`).all({ ...(lite.params[0] as object), kind }) as { id: string }[]
  ).map((r) => r.id);
  const postgresIds = (
    await pg.query(`SELECT id FROM resources WHERE target = $1 AND kind = $2 AND (${post.sql}) ORDER BY id`, ["t", kind, ...post.params])
  ).rows.map((r: { id: string }) => r.id);
  const predicate = predicateOf(filter, kind);
  const memoryIds = ROWS.filter((r) => r.kind === kind && predicate(viewOf(r))).map((r) => r.id);
  return { sqlite: sqliteIds, postgres: postgresIds, memory: memoryIds };
}

async function expectMatches(text: string, ids: string[], kind: ResourceKind = "User") {
  expect({ text, ...(await matches(text, kind)) }).toEqual({ text, sqlite: ids, postgres: ids, memory: ids });
}

describe("each filter matches the same resources in SQLite, in PostgreSQL and in memory", () => {
  it.each([
    // caseExact=false attributes compare lowered; id (caseExact) does not.
    ['userName eq "ADA"', ["u1"]],
    ['USERNAME eq "ada"', ["u1"]],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ada"', ["u1"]],
    ['userName ne "ada"', ["u2", "u3", "u4"]],
    ['displayName eq "ünïcode"', ["u3"]],
    ['nickName eq "o\'hara"', ["u1"]],
    ['title co "UNT"', ["u1"]],
    ['title sw "co"', ["u1"]],
    ['title ew "ESS"', ["u1"]],
    ['title ew "countessa"', []],
    ['title ew "COUNTESS"', ["u1"]],
    ['title sw ""', ["u1", "u2", "u3"]],
    // Code-point order whatever the database's collation: ü comes after v.
    ['displayName gt "v"', ["u3"]],
    ['title ew ""', ["u1", "u2", "u3"]],
    ['title gt "m"', ["u3"]],
    ['title ge "zeta"', ["u3"]],
    ['title lt "d"', ["u1", "u2"]],
    ['title le "countess"', ["u1", "u2"]],
    ['title ne "countess"', ["u2", "u3", "u4"]],
    ["title eq 5", []],
    ["title eq null", []],
  ])("%s", async (text, ids) => expectMatches(text, ids as string[]));

  it.each([
    ['id eq "u2"', ["u2"]],
    ['id eq "U2"', []],
    ['urn:ietf:params:scim:schemas:core:2.0:User:id eq "u2"', ["u2"]],
    ['id ne "u2"', ["u1", "u3", "u4"]],
    ['id sw "u"', ["u1", "u2", "u3", "u4"]],
    ["id pr", ["u1", "u2", "u3", "u4"]],
    ["id eq null", []],
    ['meta.resourceType eq "User"', ["u1", "u2", "u3", "u4"]],
    ['meta.resourceType eq "user"', []],
    ['meta.resourceType ne "User"', []],
  ])("the columns: %s", async (text, ids) => expectMatches(text, ids as string[]));

  it.each([
    ['meta.created gt "2026-01-02T00:00:00Z"', ["u3", "u4"]],
    ['meta.created ge "2026-01-02T00:00:00Z"', ["u2", "u3", "u4"]],
    ['meta.created lt "2026-01-02T00:00:00Z"', ["u1"]],
    ['meta.created le "2026-01-02T01:00:00+01:00"', ["u1", "u2"]],
    ['meta.created eq "2026-01-03T02:00:00+02:00"', ["u3"]],
    ['meta.created ne "2026-01-03T00:00:00Z"', ["u1", "u2", "u4"]],
    ['META.LASTMODIFIED gt "2026-01-31T00:00:00Z"', ["u1", "u3"]],
    ['meta.lastModified co "2026"', []],
    ['meta.created gt "not a date"', []],
    ["meta.created pr", ["u1", "u2", "u3", "u4"]],
  ])("times, as instants: %s", async (text, ids) => expectMatches(text, ids as string[]));

  it.each([
    // present: not absent, null or empty (text, object, array).
    ["title pr", ["u1", "u3"]],
    ["displayName pr", ["u1", "u3"]],
    ["name pr", ["u1"]],
    ["emails pr", ["u1", "u3"]],
    ["emails.type pr", ["u1", "u3"]],
    ["active pr", ["u1", "u2"]],
    [`${ENTERPRISE} pr`, ["u1"]],
    [`${ENTERPRISE}:manager pr`, ["u1"]],
    ["not (title pr)", ["u2", "u4"]],
  ])("presence: %s", async (text, ids) => expectMatches(text, ids as string[]));

  it.each([
    ["active eq true", ["u1"]],
    ['active eq "TRUE"', ["u1"]],
    ["active eq false", ["u2"]],
    ["active ne true", ["u2", "u3", "u4"]],
    ["active gt false", []],
    ["active eq 1", []],
    ["emails.primary eq true", ["u1"]],
  ])("booleans: %s", async (text, ids) => expectMatches(text, ids as string[]));

  it.each([
    // A multi-valued attribute matches when one of its values does; a complex one compared directly is its value.
    ['emails co "WORK"', ["u1"]],
    ['emails eq "c@x"', ["u3"]],
    ['emails.value ew ".example"', ["u1"]],
    ['emails.type eq "work"', ["u1", "u3"]],
    ['roles.value eq "admin"', ["u3"]],
    ['emails[type eq "work" and primary eq true]', ["u1"]],
    ['emails[type eq "home" or value co "c@"]', ["u1", "u3"]],
    ['emails[not (type eq "work")]', ["u1"]],
    ['not (emails[type eq "work"])', ["u2", "u4"]],
    ["emails[value pr]", ["u1", "u3"]],
    [`${ENTERPRISE}:department eq "MATHS"`, ["u1"]],
    [`${ENTERPRISE}:manager.value eq "m-1"`, ["u1"]],
    [`${ENTERPRISE}:manager eq "m-1"`, ["u1"]],
    ['name.givenName sw "a" and title pr', ["u1"]],
    ['userName eq "bob" or userName eq "dave"', ["u2", "u4"]],
    ['not (userName eq "bob" or title pr)', ["u4"]],
  ])("multi-valued, complex, extension and logical: %s", async (text, ids) => expectMatches(text, ids as string[]));

  it.each([
    ['displayName eq "engineers"', ["g1"]],
    ['members.value eq "u1"', ["g1"]],
    ['members[value eq "u9"]', []],
    ['id eq "g1"', ["g1"]],
    ['urn:ietf:params:scim:schemas:core:2.0:Group:id eq "g1"', ["g1"]],
    ['meta.resourceType eq "Group"', ["g1"]],
  ])("groups: %s", async (text, ids) => expectMatches(text, ids as string[], "Group"));
});

describe("what only the predicate can evaluate", () => {
  it.each([
    'meta.version eq "W/\\"1\\""',
    'meta.location eq "x"',
    `${VENDOR}:provisioningNextAttempt gt "2026-01-01T00:00:00Z"`,
    'emails[display eq "x"] or meta.version pr',
    "meta pr",
    'urn:ietf:params:scim:schemas:core:2.0:User:meta.version eq "x"',
    'unknownAttribute eq "x"',
    'emails[unknown eq "x"]',
    'emails[id eq "u1"]',
  ])("%s is left to it, by both databases", (text) => {
    const filter = parseFilter(text);
    expect(sqliteCondition(filter, "User")).toBeUndefined();
    expect(postgresCondition(filter, "User", 3)).toBeUndefined();
  });

  it("comparison values are parameters, never SQL text", () => {
    const filter = parseFilter(`title eq "x'); DROP TABLE resources; --" or nickName sw "a" and userName ew "b"`);
    const lite = sqliteCondition(filter, "User")!;
    expect(lite.params).toEqual([{ f0: "x'); drop table resources; --", f1: "a", f2: "b" }]);
    expect(lite.sql).not.toContain("DROP");
    const post = postgresCondition(filter, "User", 7)!;
    expect(post.params).toEqual(["x'); drop table resources; --", "a", "b"]);
    expect(post.sql).toContain("$7::text");
    expect(post.sql).toContain("$9::text");
    expect(post.sql).not.toContain("$6");
    expect(post.sql).not.toContain("$10");
  });
});

describe("which filters the time index answers", () => {
  it.each([
    ['meta.lastModified gt "2026-01-01T00:00:00Z"', true],
    ['META.LASTMODIFIED ge "2026-01-01T00:00:00Z"', true],
    ['meta.created lt "2026-01-01T00:00:00Z"', true],
    ['meta.created le "2026-01-01T00:00:00Z"', true],
    ['meta.lastModified gt "2026-01-01T00:00:00Z" and title eq "x"', true],
    ['title eq "x" and meta.created gt "2026-01-01T00:00:00Z"', true],
    ['meta.lastModified eq "2026-01-01T00:00:00Z"', false],
    ['meta.lastModified gt "2026-01-01T00:00:00Z" or title eq "x"', false],
    ['not (meta.lastModified gt "2026-01-01T00:00:00Z")', false],
    ['title gt "x"', false],
    ['meta.lastModifiedBy gt "x"', false],
    ['x.meta.created gt "x"', false],
  ])("%s: %s", (text, indexed) => {
    expect(timeRangeOf(parseFilter(text))).toBe(indexed);
  });
});

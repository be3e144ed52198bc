import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mappingFiles, mappingsCheck, mappingsPreview } from "../src/cli/mappings";
import { targetsCheck } from "../src/cli/targets";
import { configFrom } from "../src/config/load";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { ENV, VENDORS } from "./helpers/vendors";

const dir = mkdtempSync(join(tmpdir(), "scim-bridge-cli-"));

describe("mappings check", () => {
  it("passes on all five shipped mapping files", () => {
    const result = mappingsCheck([]);
    expect(mappingFiles()).toHaveLength(5);
    expect(result.code).toBe(0);
    expect(result.out.filter((l) => l.startsWith("ok "))).toHaveLength(5);
  });

  it("rejects a broken copy with file:line messages", () => {
    const broken = readFileSync("mappings/tencent-cic.yaml", "utf8")
      .replace('pattern: "^[A-Za-z0-9+=,.@_-]+$"', 'pattern: "^[A-Za-z0-9+=,.@_-+$"')
      .replace("FirstName: { from: name.familyName, maxLength: 64 }", "FirstName: { from: name.familyName, maxLength: -1, colour: blue }")
      .replace('ZoneId: { const: "${CIC_ZONE_ID}", required: true }', 'ZoneId: { const: "${CIC_ZONE}", required: true }');
    const file = join(dir, "broken.yaml");
    writeFileSync(file, broken);
    const lineOf = (text: string) => broken.split("\n").findIndex((l) => l.includes(text)) + 1;
    const result = mappingsCheck([file]);
    expect(result.code).toBe(1);
    const text = result.out.join("\n");
    expect(text).toContain(`${file}:${lineOf("colour: blue")}: operations.create.params.FirstName`);
    expect(text).toMatch(
      new RegExp(
        `${file}:${lineOf('pattern: "^[A-Za-z0-9+=,.@_-+$"')}: operations\\.create\\.params\\.UserName\\.pattern: .* is not a valid regular expression`,
      ),
    );
    expect(text).toMatch(
      new RegExp(`${file}:${lineOf("${CIC_ZONE}")}: operations\\.create\\.params\\.ZoneId\\.const: \\$\\{CIC_ZONE\\} is not declared under settings`),
    );
  });

  it("a from or fallback path that names no SCIM attribute is a file:line error with the nearest real name", () => {
    const source = readFileSync("mappings/tencent-cic.yaml", "utf8");
    expect(source).toContain("from: name.givenName");
    const broken = source.replace("from: name.givenName", "from: name.famillyName").replace("fallback: emails.value", "fallback: emails.valeu");
    const file = join(dir, "misspelt.yaml");
    writeFileSync(file, broken);
    const lineOf = (text: string) => broken.split("\n").findIndex((l) => l.includes(text)) + 1;
    const result = mappingsCheck([file]);
    expect(result.code).toBe(1);
    const text = result.out.join("\n");
    expect(text).toMatch(
      new RegExp(
        `${file}:${lineOf("name.famillyName")}: operations\\.\\w+\\.params\\.\\w+\\.from: 'name.famillyName' names no attribute of the SCIM User schema \\(did you mean 'name.familyName'\\?\\)`,
      ),
    );
    expect(text).toMatch(/'emails.valeu' names no attribute .*did you mean 'emails.value'/);
  });
  it("a group operation's paths are checked against the SCIM Group schema, a user operation's against the User schema", () => {
    const source = readFileSync("mappings/volcengine-cloudidentity.yaml", "utf8");
    const createGroup = "      DisplayName: { from: displayName, maxBytes: 64 }\n      Description: { from: externalId";
    expect(source).toContain(createGroup);
    const write = (name: string, text: string) => {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    };
    // members is a Group attribute (no User has it); userName is a User attribute (no Group has it).
    const groupPaths = write("group-paths.yaml", source.replace(createGroup, createGroup.replace("from: displayName", "from: members.value")));
    expect(mappingsCheck([groupPaths])).toMatchObject({ code: 0 });
    const userPathInGroup = source.replace(createGroup, createGroup.replace("from: displayName", "from: userName"));
    const broken = write("user-path-in-group.yaml", userPathInGroup);
    const line = userPathInGroup.split("\n").findIndex((l) => l.includes("from: userName, maxBytes: 64")) + 1;
    const result = mappingsCheck([broken]);
    expect(result.code).toBe(1);
    expect(result.out.join("\n")).toContain(
      `${broken}:${line}: operations.createGroup.params.DisplayName.from: 'userName' names no attribute of the SCIM Group schema`,
    );
    const groupPathInUser = write(
      "group-path-in-user.yaml",
      source.replace("UserName: { from: userName, required: true", "UserName: { from: members.value, required: true"),
    );
    expect(mappingsCheck([groupPathInUser]).out.join("\n")).toMatch(
      /operations\.create\.params\.UserName\.from: 'members.value' names no attribute of the SCIM User schema/,
    );
  });
});

describe.each(VENDORS)("mappings preview and targets check: $name", (fixture) => {
  let sandbox: VendorSandbox;
  let url: string;
  beforeEach(async () => {
    sandbox = fixture.sandbox();
    url = await sandbox.listen();
  });
  afterEach(async () => sandbox.close());

  const config = (vendor: Record<string, unknown>) => configFrom({ targets: [{ name: "t", tokens: [{ sha256: "a".repeat(64) }], vendor }] });

  it("preview prints the exact signed request, secrets masked, without sending it", async () => {
    const user = join(dir, `${fixture.name}-user.json`);
    writeFileSync(
      user,
      JSON.stringify({
        userName: "ada@example.com",
        displayName: "Ada Lovelace",
        name: { givenName: "Ada", familyName: "Lovelace" },
        emails: [{ value: "ada@example.com", primary: true }],
        phoneNumbers: [{ value: "13800138000", type: "mobile" }],
        password: "Sekrit-Pass-123!",
      }),
    );
    const result = await mappingsPreview(config(fixture.vendor(url)), "t", user, "create", ENV);
    expect(result.code).toBe(0);
    const text = result.out.join("\n");
    expect(text).toMatch(/^POST https:\/\//);
    expect(decodeURIComponent(text)).toContain("ada@example.com");
    for (const form of ["Sekrit-Pass-123!", encodeURIComponent("Sekrit-Pass-123!")]) expect(text).not.toContain(form);
    for (const secret of [ENV.TEST_ALIYUN_SECRET, ENV.TEST_TENCENT_KEY, ENV.TEST_VOLC_SK, ENV.TEST_HUAWEI_SECRET]) expect(text).not.toContain(secret);
    expect(text).toMatch(/(Signature=|Bearer )(\[redacted\]|<AccessToken from tokenByAkSk>)/);
    expect(sandbox.calls).toHaveLength(0);
  });

  it("targets check makes one read-only call and reports it; wrong credentials fail", async () => {
    const ok = await targetsCheck(config(fixture.vendor(url)), undefined, ENV);
    expect(ok.code).toBe(0);
    expect(ok.out[0]).toMatch(/^ok +t: /);
    expect(sandbox.calls.filter((c) => c.action !== "tokenByAkSk").map((c) => c.answer)).toEqual(["ok"]);
    const wrong = Object.fromEntries(Object.keys(fixture.vendor(url).credentials as object).map((k) => [k, "TEST_WRONG"]));
    const bad = await targetsCheck(config({ ...fixture.vendor(url), credentials: wrong }), "t", ENV);
    expect(bad.code).toBe(1);
    expect(bad.out[0]).toMatch(/^failed +t: /);
  });
});

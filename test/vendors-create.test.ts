/**
 * For each seed vendor: an Okta-shaped and an Entra-shaped user pushed over SCIM become a correctly signed,
 * correctly mapped create at the (strict) sandbox vendor; the vendor id is stored and shown; vendor-side
 * refusals become the right SCIM errors; an existing vendor user is adopted, or refused when adoption is off.
 */
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { eventually, CORE_USER, ENTERPRISE, startTestBridge, type TestBridge } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";

const oktaUser = (userName: string) => ({
  schemas: [CORE_USER],
  userName,
  externalId: "okta-00u1",
  name: { givenName: "Ada", familyName: "Lovelace" },
  displayName: "Ada Lovelace",
  emails: [{ primary: true, value: userName, type: "work" }],
  phoneNumbers: [{ value: "138 0013 8000", type: "mobile" }],
  password: "Okta-Synced-Pw-1!",
  active: true,
});

const entraUser = (userName: string) => ({
  schemas: [CORE_USER, ENTERPRISE],
  userName,
  externalId: "entra-obj-1",
  active: "True",
  displayName: "Alan Turing",
  name: { givenName: "Alan", familyName: "Turing" },
  emails: [{ primary: true, type: "work", value: userName }],
  phoneNumbers: [{ type: "mobile", value: "+86 139 1234 5678" }],
  [ENTERPRISE]: { department: "Research", employeeNumber: "1912" },
});

/** The same credential names, every one read from a variable holding the wrong value. */
function wrongCredentials(names: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(names).map((k) => [k, "TEST_WRONG"]));
}

describe.each(VENDORS)("$name", (fixture) => {
  let sandbox: VendorSandbox;
  let bridge: TestBridge;

  beforeEach(async () => {
    sandbox = fixture.sandbox();
    const url = await sandbox.listen();
    bridge = await startTestBridge(
      [
        // The answer window is far longer than a run's deadline, so a request answers when its run ends, also
        // on a loaded machine: a slow run is then told as "did not answer in time", never as merely queued.
        { name: "adopting", vendor: { ...fixture.vendor(url), answerWithinMs: 15_000 } },
        { name: "strict", vendor: { ...fixture.vendor(url), existingUsers: "reject" } },
        { name: "careful", vendor: { ...fixture.vendor(url), adoptOnlyIf: "emailMatches" } },
        { name: "strict-delay", vendor: { ...fixture.vendor(url), onVendorDelay: "fail" } },
        { name: "miswired", vendor: { ...fixture.vendor(url), credentials: wrongCredentials(fixture.vendor(url).credentials as Record<string, string>) } },
      ],
      { env: ENV },
    );
  });
  afterEach(async () => {
    await bridge.close();
    await sandbox.close();
  });

  it("an Okta-shaped user becomes a signed, mapped create; the vendor id is stored and shown", async () => {
    const res = await bridge.as("adopting").post("/Users", oktaUser("ada@example.com")).expect(201);
    const creates = sandbox.callsOf(fixture.createAction);
    expect(creates).toHaveLength(1);
    expect(creates[0]!.answer).toBe("ok");
    expect(creates[0]!.params).toMatchObject(fixture.expectedCreate("ada@example.com"));
    const [vendorUser] = [...sandbox.users.values()];
    expect(res.body[VENDOR_LINK]).toEqual({ vendor: fixture.name, vendorUserId: fixture.keyOf(vendorUser!), link: "created", provisioning: "applied" });
    const links = await bridge.stores.links.of("adopting", [res.body.id]);
    expect(links.get(res.body.id)).toMatchObject({ vendorKey: fixture.keyOf(vendorUser!), link: "created", userName: "ada@example.com" });
    expect((await bridge.as("adopting").get(`/Users/${res.body.id}`).expect(200)).body[VENDOR_LINK].vendorUserId).toBe(fixture.keyOf(vendorUser!));
    // the IdP's password reaches the vendor where the vendor takes one, and nothing else
    const sentPassword = creates[0]!.params.Password ?? creates[0]!.params.password;
    if (sentPassword !== undefined) expect(sentPassword).toBe("Okta-Synced-Pw-1!");
    const everything = bridge.logs.join("\n") + JSON.stringify(res.body) + JSON.stringify(await bridge.stores.resources.get("adopting", "User", res.body.id));
    expect(everything).not.toContain("Okta-Synced-Pw-1!");
    for (const secret of [ENV.TEST_ALIYUN_SECRET, ENV.TEST_TENCENT_KEY, ENV.TEST_VOLC_SK, ENV.TEST_HUAWEI_SECRET]) expect(everything).not.toContain(secret);
  });

  it("an Entra-shaped user (enterprise extension, string booleans) is created the same way", async () => {
    const res = await bridge.as("adopting").post("/Users", entraUser("alan@example.com")).expect(201);
    expect(res.body.active).toBe(true);
    expect(sandbox.callsOf(fixture.createAction).map((c) => c.answer)).toEqual(["ok"]);
    expect(res.body[VENDOR_LINK].link).toBe("created");
  });

  it("a vendor-side invalid parameter is a 400 invalidValue with the vendor's code and RequestId; nothing is kept", async () => {
    sandbox.failNext({ action: fixture.createAction, status: fixture.invalid.status, code: fixture.invalid.code, message: "the vendor refuses this value" });
    const res = await bridge.as("adopting").post("/Users", oktaUser("bad@example.com")).expect(400);
    expect(res.body.scimType).toBe("invalidValue");
    expect(res.body.detail).toContain(fixture.invalid.code);
    expect(res.body.detail).toContain("the vendor refuses this value");
    if (fixture.name !== "huawei-aicc") expect(res.body.detail).toMatch(/RequestId [0-9A-Za-z-]+/);
    expect((await bridge.as("adopting").get('/Users?filter=userName eq "bad@example.com"').expect(200)).body.totalResults).toBe(0);
  });

  it("a user that already exists at the vendor is adopted: linked, 201, recorded as adopted", async () => {
    const existing = sandbox.seedUser(fixture.existing("grace@example.com"));
    const res = await bridge.as("adopting").post("/Users", oktaUser("grace@example.com")).expect(201);
    expect(res.body[VENDOR_LINK]).toEqual({ vendor: fixture.name, vendorUserId: fixture.keyOf(existing), link: "adopted", provisioning: "applied" });
    expect(sandbox.callsOf(fixture.createAction).map((c) => c.answer)).not.toContain("ok");
    expect(sandbox.callsOf(fixture.lookupAction).length).toBeGreaterThan(0);
    expect(sandbox.users.size).toBe(1);
  });

  it("with adoption turned off, a user that already exists at the vendor is 409 uniqueness", async () => {
    sandbox.seedUser(fixture.existing("grace@example.com"));
    const res = await bridge.as("strict").post("/Users", oktaUser("grace@example.com")).expect(409);
    expect(res.body.scimType).toBe("uniqueness");
    expect(res.body.detail).toContain(fixture.name);
    expect((await bridge.as("strict").get("/Users").expect(200)).body.totalResults).toBe(0);
  });

  it("with adoptOnlyIf: emailMatches, an existing vendor user is adopted only when its email agrees", async () => {
    sandbox.seedUser(fixture.existing("grace@example.com")); // its email is old@example.com
    const refused = await bridge.as("careful").post("/Users", oktaUser("grace@example.com")).expect(409);
    expect(refused.body.scimType).toBe("uniqueness");
    sandbox.seedUser(fixture.existing("old@example.com"));
    const adopted = await bridge
      .as("careful")
      .post("/Users", { ...oktaUser("old@example.com") })
      .expect(201);
    expect(adopted.body[VENDOR_LINK].link).toBe("adopted");
  });

  it("a create the vendor committed after the bridge gave up: the IdP is told pending, the bridge's retry finds it (one vendor user)", async () => {
    sandbox.failNext({ action: fixture.createAction, status: 500, code: "InternalError", message: "backend timeout", commit: true, delayMs: 4000 });
    const first = await bridge.as("adopting").post("/Users", oktaUser("late@example.com")).expect(201);
    expect(first.body[VENDOR_LINK]).toMatchObject({ provisioning: "pending", provisioningReason: expect.stringMatching(/did not answer in time/) });
    const linked = await eventually(async () => {
      const now = (await bridge.as("adopting").get(`/Users/${first.body.id}`).expect(200)).body[VENDOR_LINK];
      return now.provisioning === "applied" && now;
    });
    // The retry looked the user up before creating: the vendor user the lost answer made is this user's.
    expect(linked).toMatchObject({ link: "created", vendorUserId: fixture.keyOf([...sandbox.users.values()][0]!) });
    expect(sandbox.users.size).toBe(1);
    // The one create is the held one (recorded once its answer is finally sent): no second create went out.
    await eventually(() => sandbox.callsOf(fixture.createAction).length > 0);
    expect(sandbox.callsOf(fixture.createAction).map((c) => c.answer)).toEqual(["InternalError"]);
  }, 20_000);

  it("onVendorDelay: fail keeps the strict answer: 504 and nothing kept, at the vendor either; the IdP's later retry creates the user", async () => {
    sandbox.failNext({ action: fixture.createAction, status: 500, code: "InternalError", message: "backend timeout", commit: true, delayMs: 4000 });
    const first = await bridge.as("strict-delay").post("/Users", oktaUser("late@example.com"));
    expect(first.status).toBe(504);
    expect((await bridge.as("strict-delay").get('/Users?filter=userName eq "late@example.com"').expect(200)).body.totalResults).toBe(0);
    // The bridge finds the vendor user the cut-off create made, and removes it.
    await eventually(async () => sandbox.users.size === 0 && (await bridge.stores.outbox.list({ state: "pending", limit: 1 })).length === 0, 15_000);
    const retry = await bridge.as("strict-delay").post("/Users", oktaUser("late@example.com")).expect(201);
    expect(retry.body[VENDOR_LINK]).toMatchObject({ link: "created", provisioning: "applied" });
    expect(sandbox.users.size).toBe(1);
  }, 30_000);

  it("credentials the vendor refuses are a loud 502, never a 401 to the IdP, and nothing is kept", async () => {
    const res = await bridge.as("miswired").post("/Users", oktaUser("wired@example.com")).expect(502);
    expect(res.body.detail).toMatch(/credentials or target settings/);
    expect(bridge.logs.some((l) => l.includes('"level":"error"') && l.includes("refused the bridge's credentials"))).toBe(true);
    expect(bridge.logs.join("\n")).not.toContain(ENV.TEST_WRONG);
    expect((await bridge.as("miswired").get("/Users").expect(200)).body.totalResults).toBe(0);
  });
});

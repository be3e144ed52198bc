/**
 * A sixth vendor from a mapping file alone: Tencent Cloud CAM sub-users (cam.tencentcloudapi.com,
 * 2019-01-16) on the tencent-tc3 protocol the bridge already speaks. No bridge code names CAM: the file
 * below is the whole integration. The sandbox is this test's, written from CAM's API reference (AddUser,
 * ListUsers, DeleteUser), not from the mapping.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TencentSandbox } from "../src/sandbox/tencent-tc3";
import { requireParams, type Json, type SandboxUser } from "../src/sandbox/sandbox";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { patchOp, startTestBridge, user } from "./helpers/bridge";
import { ENV } from "./helpers/vendors";

const MAPPING = `
vendor: tencent-cam
description: Tencent Cloud CAM sub-users (console login, no API keys).
api:
  protocol: tencent-tc3
  host: cam.tencentcloudapi.com
  version: "2019-01-16"
operations:
  create:
    call: AddUser
    params:
      Name: { from: userName, required: true, transform: [{ replace: { pattern: "[^A-Za-z0-9+=,.@_-]", with: "_" } }], maxLength: 64 }
      Remark: { from: displayName, fallback: userName, maxLength: 255 }
      ConsoleLogin: { const: 1, type: integer }
      UseApi: { const: 0, type: integer }
      Email: { from: "emails[primary eq true].value", fallback: emails.value }
    keyParam: Name
    # AddUser answers with the initial password and, with UseApi 1, API keys: never kept.
    secrets: [Password, SecretKey]
  lookup:
    call: ListUsers
    params: {}
    results: Data
    match: { field: Name, param: Name }
    id: Name
  delete:
    call: DeleteUser
    params:
      Name: { key: true, required: true }
      Force: { const: 1, type: integer }
  check:
    call: ListUsers
    params: {}
lifecycle:
  deactivate: delete
  immutable: [Name]
errors:
  conflict: [FailedOperation.UserNameExists]
  notFound: [ResourceNotFound.UserNotExist]
  invalid: ["InvalidParameter*"]
  throttled: [RequestLimitExceeded]
  transient: ["InternalError*"]
  auth: ["AuthFailure*"]
`;

/** CAM's sub-user API as its reference describes it; the duplicate-name code is this sandbox's assumption. */
class CamSandbox extends TencentSandbox {
  protected readonly version = "2019-01-16";
  private uin = 100_000;
  protected readonly actions: Record<string, (params: Json) => Json> = {
    AddUser: (p) => {
      requireParams(p, ["Name"], () => this.invalid("MissingParameter", "The request is missing a required parameter `Name`."));
      if (!/^[A-Za-z0-9+=,.@_-]{1,64}$/.test(String(p.Name))) throw this.invalid("InvalidParameter.UserNameIllegal", "The user name is illegal.");
      for (const flag of ["ConsoleLogin", "UseApi"])
        if (p[flag] !== undefined && p[flag] !== 0 && p[flag] !== 1) throw this.invalid("InvalidParameter.ParamError", `${flag} is 0 or 1.`);
      if (this.findBy("Name", p.Name)) throw this.invalid("FailedOperation.UserNameExists", "The sub-user name is in use.");
      const user: SandboxUser = { id: String(p.Name), ...p, Uin: ++this.uin };
      this.users.set(user.id, user);
      return { Uin: user.Uin, Name: p.Name, Uid: user.Uin, Password: "Init-Pass-1" };
    },
    ListUsers: () => ({ Data: [...this.users.values()].map(({ id, ...u }) => (void id, { ...u, NickName: "" })) }),
    DeleteUser: (p) => {
      if (!this.users.delete(String(p.Name))) throw this.invalid("ResourceNotFound.UserNotExist", "The sub-user does not exist.");
      return {};
    },
  };
}

it("a vendor described by one mapping file provisions, adopts and deprovisions a user", async () => {
  const dir = mkdtempSync(join(tmpdir(), "scim-bridge-cam-"));
  const mapping = join(dir, "tencent-cam.yaml");
  writeFileSync(mapping, MAPPING);
  const sandbox = new CamSandbox("cam.tencentcloudapi.com", { secretId: ENV.TEST_TENCENT_ID, secretKey: ENV.TEST_TENCENT_KEY });
  const url = await sandbox.listen();
  const vendor = { mapping, credentials: { secretId: "TEST_TENCENT_ID", secretKey: "TEST_TENCENT_KEY" }, connectTo: url, allowInsecureHttp: true };
  const bridge = await startTestBridge([{ name: "cam", vendor }], { env: ENV });
  try {
    const created = (
      await bridge
        .as("cam")
        .post("/Users", user("ann@example.com", { password: "Correct-Horse-9" }))
        .expect(201)
    ).body;
    expect(created[VENDOR_LINK]).toMatchObject({ vendor: "tencent-cam", vendorUserId: "ann@example.com", link: "created" });
    expect(sandbox.callsOf("AddUser")[0]!.params).toEqual({
      Name: "ann@example.com",
      Remark: "ann@example.com",
      ConsoleLogin: 1,
      UseApi: 0,
      Email: "ann@example.com",
    });
    // An existing sub-user is found by name and adopted.
    sandbox.seedUser({ id: "bob@example.com", Name: "bob@example.com", Uin: 1 });
    const bob = (await bridge.as("cam").post("/Users", user("bob@example.com")).expect(201)).body;
    expect(bob[VENDOR_LINK].link).toBe("adopted");
    // Deactivation under the delete policy removes the sub-user.
    await bridge
      .as("cam")
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "active", value: false }))
      .expect(200);
    expect(sandbox.users.has("ann@example.com")).toBe(false);
    expect(JSON.stringify(bridge.logs)).not.toContain("Init-Pass-1");
  } finally {
    await bridge.close();
    await sandbox.close();
  }
});

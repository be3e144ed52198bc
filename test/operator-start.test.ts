/**
 * The first start, as an operator meets it: a credential written as ${NAME} is refused without the secret
 * ever appearing in any output; a busy port and a PORT that is not a number end the process at once with
 * one line that says what is wrong; a store whose schema is newer than the release is refused.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { hashToken } from "../src/http/auth";
import { compileCli, type CompiledCli } from "./helpers/cli-process";

let cli: CompiledCli;
let dir: string;
const SECRET = `Sk${randomBytes(12).toString("hex")}`;

function config(name: string, data: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ store: { kind: "sqlite", path: join(dir, `${name}.db`) }, log: { level: "info" }, ...data }));
  return file;
}

const storeOnly = { targets: [{ name: "okta", tokens: [{ sha256: hashToken("t") }] }] };

beforeAll(() => {
  cli = compileCli();
  dir = mkdtempSync(join(tmpdir(), "scim-bridge-start-"));
}, 60_000);

afterAll(() => cli.remove());

describe("a credential written as ${NAME}", () => {
  let file: string;
  beforeAll(() => {
    file = config("secret.yaml", {
      targets: [
        {
          name: "cic",
          tokens: [{ sha256: hashToken("t") }],
          vendor: {
            mapping: "mappings/tencent-cic.yaml",
            credentials: { secretId: "TENCENT_SECRET_ID", secretKey: "${TENCENT_SECRET_KEY}" },
            settings: { CIC_ZONE_ID: "z-1" },
          },
        },
      ],
    });
  });

  it.each([["serve"], ["targets", "check"], ["mappings", "preview", "--target", "cic", "user.json"], ["reconcile", "--all"]])(
    "is refused by `%s` with the fix, and the secret appears in no output",
    async (...command) => {
      const run = await cli.run([...command, "--config", file], { env: { TENCENT_SECRET_ID: "AKIDexample", TENCENT_SECRET_KEY: SECRET } });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        "targets[0].vendor.credentials.secretKey: write the environment variable's name (TENCENT_SECRET_KEY), not ${TENCENT_SECRET_KEY}",
      );
      expect(run.stdout + run.stderr).not.toContain(SECRET);
    },
  );

  it("starts once the name is written, reading the secret from a *_FILE", async () => {
    const secretFile = join(dir, "tencent-key");
    writeFileSync(secretFile, `${SECRET}\n`);
    const named = config("named.yaml", {
      targets: [
        {
          name: "cic",
          tokens: [{ sha256: hashToken("t") }],
          vendor: {
            mapping: "mappings/tencent-cic.yaml",
            credentials: { secretId: "TENCENT_SECRET_ID", secretKey: "TENCENT_SECRET_KEY" },
            settings: { CIC_ZONE_ID: "z-1" },
          },
        },
      ],
    });
    // mappings preview signs a request with the key read from the file: it reaches the signer, not the output.
    const user = join(dir, "user.json");
    writeFileSync(
      user,
      JSON.stringify({
        userName: "ada@example.com",
        name: { givenName: "Ada", familyName: "Lovelace" },
        emails: [{ value: "ada@example.com", primary: true }],
      }),
    );
    const run = await cli.run(["mappings", "preview", "--config", named, "--target", "cic", user], {
      env: { TENCENT_SECRET_ID: "AKIDexample", TENCENT_SECRET_KEY_FILE: secretFile },
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^POST https:\/\//);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
    const missing = await cli.run(["mappings", "preview", "--config", named, "--target", "cic", user], {
      env: { TENCENT_SECRET_ID: "AKIDexample", TENCENT_SECRET_KEY_FILE: join(dir, "absent") },
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`TENCENT_SECRET_KEY_FILE names ${join(dir, "absent")}, which cannot be read (ENOENT)`);
  });
});

describe("where to listen", () => {
  let busy: Server;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  });
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  it("a port in use ends the start with one line, exit 1", async () => {
    const port = (busy.address() as AddressInfo).port;
    const run = await cli.run(["serve", "--config", config("busy.yaml", { server: { port }, ...storeOnly })], { timeoutMs: 15_000 });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `scim-bridge: cannot listen on 127.0.0.1:${port}: the port is already in use (another process listens there); stop it or choose another port (server.port / PORT, server.host / HOST)\n`,
    );
  });

  it.each([
    ["config mode", true],
    ["the demo", false],
  ])("PORT=abc ends the start with one line, exit 1 (%s)", async (_mode, withConfig) => {
    const args = withConfig ? ["serve", "--config", config("abc.yaml", storeOnly)] : ["serve"];
    const run = await cli.run(args, { env: { PORT: "abc", SCIM_BRIDGE_DATA: dir }, timeoutMs: 15_000 });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("scim-bridge: PORT='abc' is not a port number (0-65535)\n");
  });

  it("HOST and PORT win over the file, and ${NAME} feeds a number", async () => {
    const file = join(dir, "env.yaml");
    writeFileSync(
      file,
      `server:\n  port: \${BRIDGE_PORT}\n  host: 127.0.0.2\nstore: { kind: sqlite, path: ${join(dir, "env.db")} }\ntargets:\n  - name: okta\n    tokens: [{ sha256: ${hashToken("t")} }]\n`,
    );
    const bridge = cli.start(["serve", "--config", file], { env: { BRIDGE_PORT: "0", HOST: "127.0.0.1" } });
    try {
      const [, url] = await bridge.waitFor(/SCIM base URL: (\S+)/);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
      const health = await fetch(url!.replace("/scim/v2", "/healthz"));
      expect(await health.json()).toEqual({ status: "ok", version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
      expect(bridge.output().stdout).toMatch(/"message":"bridge listening".*"version":"\d+\.\d+\.\d+/);
      // The image's HEALTHCHECK: the same file and environment find the listening bridge.
      const port = new URL(url!).port;
      expect(await cli.run(["healthcheck", "--config", file], { env: { BRIDGE_PORT: port, HOST: "127.0.0.1" } })).toMatchObject({
        code: 0,
        stdout: `ok http://127.0.0.1:${port}/healthz\n`,
      });
      expect((await cli.run(["healthcheck", "--config", file], { env: { BRIDGE_PORT: port, HOST: "127.0.0.1", PORT: "1" } })).code).toBe(1);
    } finally {
      bridge.child.kill("SIGTERM");
      expect(await bridge.exited).toBe(0);
    }
    expect(bridge.output().stdout).toContain('"message":"shutdown: complete"');
  });
});

describe("upgrades", () => {
  it("a store whose schema is newer than the release is refused at start", async () => {
    const file = config("newer.yaml", storeOnly);
    const first = cli.start(["serve", "--config", file], { env: { PORT: "0" } });
    await first.waitFor(/SCIM base URL/);
    first.child.kill("SIGTERM");
    await first.exited;
    const db = new Database(join(dir, "newer.yaml.db"));
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from a later release', '')").run();
    db.close();
    const run = await cli.run(["serve", "--config", file], { env: { PORT: "0" }, timeoutMs: 15_000 });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^scim-bridge: the store's schema is at version 999, newer than this scim-bridge knows \(\d+\): a newer release upgraded it\. .*never downgraded\.\n$/,
    );
  });
});

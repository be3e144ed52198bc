/**
 * Configuration for containers: ${NAME} feeds numbers and booleans where the schema wants them (a literal
 * string stays a string), secrets come from *_FILE files, HOST and PORT win over the file, and a
 * credential field never takes a ${...} value.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfigFile } from "../src/config/load";
import { hashToken } from "../src/http/auth";

const dir = mkdtempSync(join(tmpdir(), "scim-bridge-config-env-"));
const TARGET = `targets:\n  - name: okta\n    tokens: [{ sha256: ${hashToken("t")} }]\n`;

function file(text: string, targets = TARGET): string {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, text + targets);
  return path;
}

describe("environment references in the config", () => {
  it("feed a number and a boolean where the schema wants one", () => {
    const config = loadConfigFile(file("server:\n  port: ${P}\n  trustProxy: ${TRUST}\n  maxResults: ${MAX:-250}\n"), { P: "9443", TRUST: "true" });
    expect(config.server).toMatchObject({ port: 9443, trustProxy: true, maxResults: 250 });
  });

  it('stay strings where the schema wants a string, and a literal "8080" is refused as before', () => {
    const config = loadConfigFile(file("server:\n  bodyLimit: ${LIMIT}\n"), { LIMIT: "512" });
    expect(config.server.bodyLimit).toBe("512");
    expect(() => loadConfigFile(file('server:\n  port: "8080"\n'), {})).toThrow(/server\.port: Invalid input: expected number, received string/);
  });

  it("name the key when the value is not a number", () => {
    expect(() => loadConfigFile(file("server:\n  port: ${P}\n"), { P: "eighty" })).toThrow(/:2: server\.port: Invalid input: expected number, received string/);
  });

  it("read NAME_FILE when NAME is unset, without the final newline", () => {
    const secret = join(dir, "pg-password");
    writeFileSync(secret, "s3cret\n");
    const config = loadConfigFile(file("store:\n  kind: postgres\n  url: postgres://bridge:${PGPASSWORD}@db/scim\n"), { PGPASSWORD_FILE: secret });
    expect(config.store).toMatchObject({ url: "postgres://bridge:s3cret@db/scim" });
  });

  it("refuse ${NAME} in a credential, naming the fix and never the value", () => {
    const path = file(
      "",
      `targets:\n  - name: cic\n    tokens: [{ sha256: ${hashToken("c")} }]\n    vendor:\n      mapping: mappings/tencent-cic.yaml\n      credentials: { secretId: ID, secretKey: "\${KEY}" }\n`,
    );
    let message = "";
    try {
      loadConfigFile(path, { KEY: "TheSecretValue" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("targets[0].vendor.credentials.secretKey: write the environment variable's name (KEY), not ${KEY}");
    expect(message).not.toContain("TheSecretValue");
  });
});

describe("HOST and PORT", () => {
  it("win over server.host and server.port", () => {
    const path = file("server:\n  host: 10.0.0.1\n  port: 9000\n");
    expect(loadConfigFile(path, {}).server).toMatchObject({ host: "10.0.0.1", port: 9000 });
    expect(loadConfigFile(path, { HOST: "0.0.0.0", PORT: "8080" }).server).toMatchObject({ host: "0.0.0.0", port: 8080 });
  });

  it("refuse a PORT that is not a port", () => {
    expect(() => loadConfigFile(file(""), { PORT: "70000" })).toThrow("PORT='70000' is not a port number (0-65535)");
  });
});

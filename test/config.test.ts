import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfigFile } from "../src/config/load";
import { FileValidationError, formatIssue } from "../src/config/yaml-file";
import { tokenMintText } from "../src/cli/token";
import { hashToken } from "../src/http/auth";

const dir = mkdtempSync(join(tmpdir(), "scim-bridge-config-"));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const HASH = hashToken("t");

describe("config files", () => {
  it("loads a valid file with defaults filled in and ${ENV} substituted", () => {
    const path = file("ok.yaml", `server:\n  port: 9000\n  publicUrl: \${PUBLIC_URL}\ntargets:\n  - name: okta-prod\n    tokens:\n      - sha256: ${HASH}\n`);
    const config = loadConfigFile(path, { PUBLIC_URL: "https://bridge.example.com" });
    expect(config.server).toMatchObject({ port: 9000, publicUrl: "https://bridge.example.com", bodyLimit: "1mb", maxResults: 1000 });
    expect(config.store).toEqual({ kind: "sqlite", path: "./data/bridge.db" });
    expect(config.targets[0]).toMatchObject({ name: "okta-prod", patchResponse: "resource" });
  });

  it("names the file, line and key of every problem", () => {
    const path = file(
      "bad.yaml",
      ["server:", "  port: eighty", "targets:", "  - name: Bad Name", "    tokens:", "      - sha256: short", "    colour: blue"].join("\n"),
    );
    let error: FileValidationError | undefined;
    try {
      loadConfigFile(path, {});
    } catch (e) {
      error = e as FileValidationError;
    }
    expect(error).toBeInstanceOf(FileValidationError);
    const messages = error!.message.split("\n");
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${path}:2: server\\.port: `)),
        expect.stringMatching(new RegExp(`^${path}:4: targets\\[0\\]\\.name: a target name is`)),
        expect.stringMatching(new RegExp(`^${path}:6: targets\\[0\\]\\.tokens\\[0\\]\\.sha256: expected the SHA-256`)),
        expect.stringMatching(new RegExp(`^${path}:4: targets\\[0\\]: .*colour`)),
      ]),
    );
  });

  it("an unset environment variable is an error at its key, never an empty secret", () => {
    const path = file("env.yaml", `server:\n  publicUrl: \${NOT_SET_ANYWHERE}\ntargets:\n  - name: a\n    tokens:\n      - sha256: ${HASH}\n`);
    expect(() => loadConfigFile(path, {})).toThrow(/env\.yaml:2: server\.publicUrl: environment variable NOT_SET_ANYWHERE is not set/);
  });

  it("a YAML syntax error points at its line; a token shared by two targets is refused", () => {
    expect(() => loadConfigFile(file("syntax.yaml", "targets:\n  - name: a\n   tokens: [\n"), {})).toThrow(/syntax\.yaml:\d+: .*YAML syntax/);
    const shared = file("shared.yaml", `targets:\n  - name: a\n    tokens: [{ sha256: ${HASH} }]\n  - name: b\n    tokens: [{ sha256: ${HASH} }]\n`);
    expect(() => loadConfigFile(shared, {})).toThrow(/targets\[1\]\.tokens\[0\]\.sha256: this token already belongs to target 'a'/);
  });
});

describe("settings that no longer do anything", () => {
  const withRateLimit = (rateLimit: string) =>
    [
      "targets:",
      "  - name: cic",
      `    tokens: [{ sha256: ${HASH} }]`,
      "    vendor:",
      "      mapping: mappings/tencent-cic.yaml",
      "      credentials: { secretId: CIC_ID, secretKey: CIC_KEY }",
      `      rateLimit: ${rateLimit}`,
      "",
    ].join("\n");

  it("rateLimit.burst: the file still loads, with a warning naming it as having no effect (on stderr unless told where)", () => {
    const path = file("burst.yaml", withRateLimit("{ perSecond: 5, burst: 10 }"));
    const warnings: string[] = [];
    const config = loadConfigFile(path, {}, (issue) => warnings.push(formatIssue(issue)));
    expect(config.targets[0]!.vendor!.rateLimit).toEqual({ perSecond: 5 });
    expect(warnings).toEqual([
      `${path}:7: targets[0].vendor.rateLimit.burst: has no effect (calls are spaced evenly at rateLimit.perSecond, with no burst); remove it`,
    ]);
    const stderr = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      loadConfigFile(path, {});
      expect(stderr).toHaveBeenCalledWith(`warning: ${warnings[0]}\n`);
    } finally {
      stderr.mockRestore();
    }
  });

  it("any other unknown key is still refused, and a file without burst loads without a word", () => {
    expect(() => loadConfigFile(file("typo.yaml", withRateLimit("{ perSecond: 5, brust: 10 }")), {}, () => undefined)).toThrow(
      /typo\.yaml:7: targets\[0\]\.vendor\.rateLimit: .*brust/,
    );
    const warn = jest.fn();
    loadConfigFile(file("plain.yaml", withRateLimit("{ perSecond: 5 }")), {}, warn);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe("token mint", () => {
  it("prints a token and its SHA-256 for the config", () => {
    const out = tokenMintText().text;
    const token = /token:\s+(\S+)/.exec(out)![1]!;
    const sha = /sha256:\s+([0-9a-f]{64})/.exec(out)![1];
    expect(sha).toBe(hashToken(token));
  });
});

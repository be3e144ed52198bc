/**
 * The command line keeps the usual conventions, run as an operator runs it: --help on every command
 * prints its usage and exits 0 (and does nothing else), unknown options and options without their value
 * exit 2 with the usage, --name=value works, --version prints the package's version.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS } from "../src/cli/commands";
import { hashToken } from "../src/http/auth";
import { version } from "../package.json";
import { compileCli, type CompiledCli } from "./helpers/cli-process";

let cli: CompiledCli;
let configFile: string;

beforeAll(() => {
  cli = compileCli();
  const dir = mkdtempSync(join(tmpdir(), "scim-bridge-cli-conf-"));
  configFile = join(dir, "bridge.yaml");
  writeFileSync(
    configFile,
    JSON.stringify({ store: { kind: "sqlite", path: join(dir, "bridge.db") }, targets: [{ name: "okta", tokens: [{ sha256: hashToken("t") }] }] }),
  );
}, 60_000);

afterAll(() => cli.remove());

const names = COMMANDS.map((c) => c.name);

describe("the command line", () => {
  it("prints the version with --version", async () => {
    const run = await cli.run(["--version"]);
    expect(run).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it("lists every command with --help, exit 0", async () => {
    const run = await cli.run(["--help"]);
    expect(run.code).toBe(0);
    for (const name of names) expect(run.stdout).toContain(`  ${name}`);
  });

  it.each(names)("`%s --help` prints its usage and exits 0", async (name) => {
    const run = await cli.run([...name.split(" "), "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`usage: scim-bridge ${name}`);
    expect(run.stderr).toBe("");
  });

  it("`token mint --help` mints nothing", async () => {
    const run = await cli.run(["token", "mint", "--help"]);
    expect(run.stdout).not.toMatch(/scb_|sha256:/);
  });

  it.each(names)("`%s --no-such-option` is refused with exit 2 and the usage", async (name) => {
    const run = await cli.run([...name.split(" "), "--no-such-option"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Unknown option '--no-such-option'");
    expect(run.stderr).toContain(`usage: scim-bridge ${name}`);
  });

  it.each(["serve --json", "serve --port 8080", "serve --dry-run", "targets check --json"])("refuses `%s`", async (line) => {
    const run = await cli.run(line.split(" "));
    expect(run.code).toBe(2);
  });

  it("refuses `serve --config` without its value instead of starting the demo", async () => {
    const run = await cli.run(["serve", "--config"], { timeoutMs: 10_000 });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--config <value>' argument missing/);
    expect(run.stdout).not.toContain("SCIM base URL");
  });

  it("understands --name=value", async () => {
    const run = await cli.run(["audit", `--config=${configFile}`, "--target=okta", "--json"]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ target: "okta", calls: [] });
    const other = await cli.run(["audit", `--config=${configFile}`, "--target=nobody"]);
    expect(other).toMatchObject({ code: 2, stdout: "no target 'nobody' in the config\n" });
  });

  it("refuses an unknown command, and a bad --since, with exit 2", async () => {
    expect((await cli.run(["frobnicate"])).code).toBe(2);
    expect((await cli.run(["outbox", "frob"])).code).toBe(2);
    const since = await cli.run(["audit", `--config=${configFile}`, "--target=okta", "--since", "yesterday"]);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain("--since takes a time");
  });
});

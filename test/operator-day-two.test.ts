/**
 * Day two: HTTPS served straight from a certificate (generated here, for this run only), a new certificate
 * taken on reload; SIGHUP swaps tokens without failing a request in flight, and a bad new config is refused
 * with the running one kept.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { configFrom } from "../src/config/load";
import { hashToken } from "../src/http/auth";
import { createLogger } from "../src/log";
import { startBridge, type RunningBridge } from "../src/main";
import { sqliteStores } from "../src/store/open";
import { VERSION } from "../src/version";
import { compileCli, type CompiledCli } from "./helpers/cli-process";

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "scim-bridge-day-two-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A throwaway self-signed certificate for 127.0.0.1; the key lives in the test's temporary folder only. */
function certificate(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

/** GET over HTTPS trusting only `ca`: the answer, and the certificate the server showed. */
function httpsGet(url: string, ca: string): Promise<{ status: number; body: string; subject: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(ca), agent: false }, (res) => {
      let body = "";
      const subject = (res.socket as TLSSocket).getPeerCertificate().subject.CN;
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, body, subject: String(subject) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("HTTPS", () => {
  let bridge: RunningBridge;
  const first = () => certificate("first");
  let tls: { cert: string; key: string };
  const configWith = (files: { cert: string; key: string }) =>
    configFrom({ server: { port: 0, tls: files }, metrics: { enabled: false }, targets: [{ name: "okta", tokens: [{ sha256: hashToken("t") }] }] });

  beforeAll(async () => {
    tls = first();
    bridge = await startBridge(configWith(tls), {
      stores: sqliteStores(":memory:"),
      log: createLogger("error", new Writable({ write: (_c, _e, done) => done() })),
    });
  });
  afterAll(() => bridge.close());

  it("serves the SCIM API over HTTPS with the configured certificate", async () => {
    expect(bridge.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await httpsGet(`${bridge.url}/healthz`, tls.cert);
    expect(health).toMatchObject({ status: 200, subject: "first" });
    expect(JSON.parse(health.body)).toEqual({ status: "ok", version: VERSION });
    // Plain HTTP on the HTTPS port gets nowhere.
    await expect(fetch(`${bridge.url.replace("https:", "http:")}/healthz`)).rejects.toThrow();
  });

  it("takes a new certificate on reload, for the next connection", async () => {
    const second = certificate("second");
    expect(await bridge.reload(() => configWith(second))).toBe(true);
    expect((await httpsGet(`${bridge.url}/healthz`, second.cert)).subject).toBe("second");
  });

  it("keeps the running certificate when the new key does not fit it", async () => {
    const third = certificate("third");
    const mismatched = { cert: third.cert, key: tls.key };
    expect(await bridge.reload(() => configWith(mismatched))).toBe(false);
    expect((await httpsGet(`${bridge.url}/healthz`, join(dir, "second.crt"))).subject).toBe("second");
  });
});

describe("SIGHUP", () => {
  let cli: CompiledCli;
  beforeAll(() => {
    cli = compileCli();
  }, 60_000);
  afterAll(() => cli.remove());

  const KEEP = "token-kept-across-the-reload";
  const OLD = "token-removed-by-the-reload";
  const NEW = "token-added-by-the-reload";
  const ENTRA = "token-of-a-target-added-by-the-reload";
  /** The okta target with `tokens`; `entra` (a second target) when `withEntra`. */
  function writeConfig(file: string, tokens: string[], withEntra = false): void {
    const targets = [
      { name: "okta", tokens: tokens.map((t) => ({ sha256: hashToken(t) })) },
      ...(withEntra ? [{ name: "entra", tokens: [{ sha256: hashToken(ENTRA) }] }] : []),
    ];
    writeFileSync(file, JSON.stringify({ server: { port: 0 }, store: { kind: "sqlite", path: join(dir, "hup.db") }, log: { level: "info" }, targets }));
  }

  it("swaps tokens and targets without failing a request, and refuses a bad config keeping the running one", async () => {
    const file = join(dir, "hup.yaml");
    writeConfig(file, [KEEP, OLD]);
    const bridge = cli.start(["serve", "--config", file]);
    try {
      const [, base] = await bridge.waitFor(/SCIM base URL: (\S+)/);
      const get = (token: string) => fetch(`${base}/Users?count=1`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
      expect(await get(OLD)).toBe(200);
      expect(await get(NEW)).toBe(401);
      expect(await get(ENTRA)).toBe(401);

      // Requests keep going with the token that stays, before, during and after the reload.
      const statuses: number[] = [];
      let reloaded = false;
      const traffic = (async () => {
        while (!reloaded || statuses.length < 50) statuses.push(await get(KEEP));
      })();
      writeConfig(file, [KEEP, NEW], true);
      bridge.child.kill("SIGHUP");
      await bridge.waitFor(/"message":"configuration reloaded"/);
      reloaded = true;
      await traffic;
      expect(statuses.length).toBeGreaterThanOrEqual(50);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      expect(await get(OLD)).toBe(401);
      expect(await get(NEW)).toBe(200);
      // A target added by the reload is served, with its own users.
      expect(await get(ENTRA)).toBe(200);

      writeFileSync(file, "targets: [ this is not yaml");
      bridge.child.kill("SIGHUP");
      await bridge.waitFor(/"level":"error","message":"configuration reload refused; the running configuration stays".*YAML syntax/);
      expect(await get(NEW)).toBe(200);
      expect(await get(KEEP)).toBe(200);
    } finally {
      bridge.child.kill("SIGTERM");
      await bridge.exited;
    }
  });
});

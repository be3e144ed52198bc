/**
 * The status page as the person on call sees it: a real headless Chromium (Debian's chromium, through
 * puppeteer-core) opens /status with an admin token, while a sandbox vendor refuses to deactivate a user.
 * The page shows the target's circuit, the pending deprovisioning with its age, the failed call with the
 * vendor's code and RequestId, and then, without a reload, a failure that happens while it is open.
 * With SCIM_BRIDGE_STATUS_SCREENSHOT=FILE it also saves a screenshot (the README's).
 */
import { Writable } from "node:stream";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { configFrom } from "../src/config/load";
import { hashToken } from "../src/http/auth";
import { createLogger } from "../src/log";
import { startBridge, type RunningBridge } from "../src/main";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { sqliteStores } from "../src/store/open";
import { eventually, patchOp, user } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ADMIN = "admin-token-for-the-status-page";
const IDP = "okta-token-for-scim";

let sandbox: VendorSandbox;
let bridge: RunningBridge;
let browser: Browser;
let page: Page;

const scim = (path: string, init: { method?: string; body?: unknown } = {}) =>
  fetch(`${bridge.scimBaseUrl}${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${IDP}`, "content-type": "application/scim+json" },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });

beforeAll(async () => {
  Object.assign(process.env, ENV);
  const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
  sandbox = cic.sandbox();
  const vendor = { ...cic.vendor(await sandbox.listen()), answerWithinMs: 1_000, retry: { firstDelayMs: 60_000 } };
  const config = configFrom({
    server: { port: 0 },
    metrics: { enabled: false },
    outbox: { pollMs: 50 },
    status: { adminTokens: [{ sha256: hashToken(ADMIN) }], refreshSeconds: 1 },
    targets: [
      { name: "cic-prod", tokens: [{ sha256: hashToken(IDP) }], vendor },
      { name: "conformance", tokens: [{ sha256: hashToken("store-only") }] },
    ],
  });
  const store = sqliteStores(":memory:");
  await store.admin.migrate();
  bridge = await startBridge(config, {
    stores: store,
    log: createLogger(
      process.env.STATUS_TEST_LOG ?? "error",
      new Writable({ write: (c, _e, done) => (process.env.STATUS_TEST_LOG && process.stderr.write(c), done()) }),
    ),
  });
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 560 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await bridge?.close();
  await bridge?.stores.admin.close();
  await sandbox?.close();
});

const section = (target: string) => `section[data-target="${target}"]`;

describe("the status page", () => {
  it("is behind an admin token: none, a wrong one and an IdP's token are refused", async () => {
    const status = `${bridge.url}/status`;
    expect((await fetch(status)).status).toBe(401);
    expect((await fetch(status, { headers: { authorization: `Bearer ${IDP}` } })).status).toBe(401);
    expect((await fetch(`${status}/data.json`, { headers: { authorization: `Basic ${Buffer.from(`x:${IDP}`).toString("base64")}` } })).status).toBe(401);
    const ok = await fetch(status, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-security-policy")).toContain("default-src 'self'");
  });

  it("shows a deprovisioning the vendor refused, with its code and RequestId, in Chromium", async () => {
    const created = await scim("/Users", { method: "POST", body: user("ada@example.com") });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    sandbox.failNext({ action: "UpdateUserStatus", status: 200, code: "InternalError.SystemError", message: "backend unavailable", times: Infinity });
    const deactivated = await scim(`/Users/${id}`, { method: "PATCH", body: patchOp({ op: "replace", path: "active", value: false }) });
    expect(deactivated.status).toBe(200);
    const [failed] = await eventually(async () => {
      const calls = await bridge.stores.trail.calls("cic-prod", { scimId: id, limit: 10 });
      return calls.some((c) => c.operation === "disable" && c.outcome !== "success") && calls.filter((c) => c.operation === "disable");
    });

    await page.authenticate({ username: "on-call", password: ADMIN });
    await page.goto(`${bridge.url}/status`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector(`${section("cic-prod")} td.outcome-bad`);
    const text = await page.$eval(section("cic-prod"), (el) => (el as unknown as { innerText: string }).innerText);
    expect(text).toContain("cic-prod — tencent-cic");
    expect(text).toMatch(/circuit (closed|open|probing)/);
    expect(text).toMatch(/pending 1 \(oldest \d+ s\)/);
    expect(text).toMatch(/deprovisioning waiting \d+ s/);
    expect(text).toContain("Latest deprovisionings");
    expect(text).toContain("UpdateUserStatus");
    expect(text).toContain("InternalError.SystemError");
    expect(text).toContain(failed!.vendorRequestId!);
    expect(await page.$eval(section("conformance"), (el) => (el as unknown as { innerText: string }).innerText)).toContain("conformance — store-only");
  });

  it("shows a new failure without a reload", async () => {
    let navigations = 0;
    page.on("framenavigated", () => navigations++);
    sandbox.failNext({ action: "CreateUser", status: 200, code: "LimitExceeded.UserCount", message: "too many users" });
    expect((await scim("/Users", { method: "POST", body: user("grace@example.com") })).status).toBe(400);
    await page.waitForFunction(`document.querySelector('${section("cic-prod")}')?.textContent?.includes("LimitExceeded.UserCount")`, { timeout: 15_000 });
    expect(navigations).toBe(0);
    if (process.env.SCIM_BRIDGE_STATUS_SCREENSHOT) await page.screenshot({ path: process.env.SCIM_BRIDGE_STATUS_SCREENSHOT, fullPage: true });
  });
});

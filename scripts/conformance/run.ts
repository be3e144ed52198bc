/**
 * The public SCIM suites in ../shared/compliance, each against a fresh store-only target of a fresh bridge.
 * Exits non-zero when an assertion fails that conformance/deviations.yaml does not list with a reason.
 */
import { join, resolve } from "node:path";
import { startConformanceBridge } from "./bridge";
import { loadDeviations } from "./deviations";
import { runMicrosoftSuite, type SuiteResult } from "./microsoft";
import { runOktaSuite } from "./okta";

const root = resolve(__dirname, "..", "..", "..");
const compliance = process.env.SCIM_COMPLIANCE_DIR ?? resolve(root, "..", "shared", "compliance");

function report(name: string, result: SuiteResult, allowed: (f: SuiteResult["failures"][number]) => boolean): boolean {
  const unexpected = result.failures.filter((f) => !allowed(f));
  const passed = result.assertions - result.failures.length;
  console.log(`\n${name}: ${result.requests} requests, ${passed} passed, ${result.failures.length} failed (${result.failures.length - unexpected.length} listed as deviations)`);
  for (const f of unexpected) console.log(`  UNEXPECTED FAILURE: ${f.request} — ${f.assertion}: ${f.message}`);
  return unexpected.length === 0;
}

async function createOktaSeedUser(base: string, token: string): Promise<void> {
  // Okta's first step lists users and expects at least one with a name, an email and active set.
  const response = await fetch(`${base}/Users`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
    body: JSON.stringify({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName: "existing.user@example.com",
      name: { givenName: "Existing", familyName: "User" },
      emails: [{ value: "existing.user@example.com", type: "work", primary: true }],
      active: true,
    }),
  });
  if (response.status !== 201) throw new Error(`could not create the seed user for Okta's suite: HTTP ${response.status}`);
}

async function main(): Promise<number> {
  const deviations = loadDeviations(root);
  const { bridge, tokens, close } = await startConformanceBridge([{ name: "microsoft", patchResponse: "no-content" }, { name: "okta" }]);
  try {
    console.log("Microsoft SCIM Tests (newman)");
    const microsoft = await runMicrosoftSuite(join(compliance, "microsoft-scim-PostmanCollection.json"), new URL(bridge.scimBaseUrl), tokens.microsoft!);
    const msOk = report("Microsoft", microsoft, (f) => deviations.microsoft.some((d) => d.request === f.request && d.assertion === f.assertion));

    console.log("\nOkta SCIM 2.0 spec test");
    await createOktaSeedUser(bridge.scimBaseUrl, tokens.okta!);
    const okta = await runOktaSuite(
      join(compliance, "Okta-SCIM-20-SPEC-Test.json"),
      join(compliance, "Initial_Script_Spec.txt"),
      bridge.scimBaseUrl,
      `Bearer ${tokens.okta}`,
    );
    const oktaOk = report("Okta", okta, (f) => deviations.okta.some((d) => d.step === f.request && d.assertion === f.assertion));
    const total = microsoft.assertions + okta.assertions;
    const failed = microsoft.failures.length + okta.failures.length;
    console.log(`\nconformance: ${total - failed} passed, ${failed} failed`);
    return msOk && oktaOk ? 0 : 1;
  } finally {
    await close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`conformance run failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);

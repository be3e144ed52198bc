/**
 * The public SCIM suites in ../shared/compliance, each against a fresh store-only target of a fresh bridge.
 * Exits non-zero when an assertion fails that conformance/deviations.yaml does not list with a reason.
 */
import { join, resolve } from "node:path";
import { startConformanceBridge } from "./bridge";
import { loadDeviations, type SuiteDeviationList } from "./deviations";
import { runMicrosoftSuite, type SuiteResult } from "./microsoft";
import { runOktaSuite } from "./okta";

const root = resolve(__dirname, "..", "..", "..");
const compliance = process.env.SCIM_COMPLIANCE_DIR ?? resolve(root, "..", "shared", "compliance");

/** Prints a suite's result; answers how many failures the deviations file does not list. */
function report(name: string, result: SuiteResult, allowed: (f: SuiteResult["failures"][number]) => boolean): number {
  const unexpected = result.failures.filter((f) => !allowed(f));
  const passed = result.assertions - result.failures.length;
  console.log(
    `\n${name}: ${result.requests} requests, ${passed} passed, ${result.failures.length} failed (${result.failures.length - unexpected.length} listed as deviations)`,
  );
  for (const f of unexpected) console.log(`  UNEXPECTED FAILURE: ${f.request} — ${f.assertion}: ${f.message}`);
  return unexpected.length;
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

/** Both suites against one pair of targets (Microsoft's expects PATCH to answer 204, Okta's 200 with the resource). */
async function runSuites(
  label: string,
  base: string,
  tokens: { microsoft: string; okta: string },
  deviations: SuiteDeviationList,
): Promise<{ passed: number; unexpected: number; listed: number }> {
  console.log(`\n== ${label} ==\nMicrosoft SCIM Tests (newman)`);
  const microsoft = await runMicrosoftSuite(join(compliance, "microsoft-scim-PostmanCollection.json"), new URL(base), tokens.microsoft);
  const msUnexpected = report(`Microsoft, ${label}`, microsoft, (f) =>
    deviations.microsoft.some((d) => d.request === f.request && d.assertion === f.assertion),
  );
  console.log("\nOkta SCIM 2.0 spec test");
  await createOktaSeedUser(base, tokens.okta);
  const okta = await runOktaSuite(join(compliance, "Okta-SCIM-20-SPEC-Test.json"), join(compliance, "Initial_Script_Spec.txt"), base, `Bearer ${tokens.okta}`);
  const oktaUnexpected = report(`Okta, ${label}`, okta, (f) => deviations.okta.some((d) => d.step === f.request && d.assertion === f.assertion));
  const failed = microsoft.failures.length + okta.failures.length;
  const unexpected = msUnexpected + oktaUnexpected;
  return { passed: microsoft.assertions + okta.assertions - failed, unexpected, listed: failed - unexpected };
}

async function main(): Promise<number> {
  const deviations = loadDeviations(root);
  const vendor = deviations.vendorBacked.vendor;
  const { bridge, tokens, close } = await startConformanceBridge([
    { name: "microsoft", patchResponse: "no-content" },
    { name: "okta" },
    { name: "microsoft-vendor", patchResponse: "no-content", vendor },
    { name: "okta-vendor", vendor },
  ]);
  try {
    const storeOnly = await runSuites("store-only target", bridge.scimBaseUrl, { microsoft: tokens.microsoft!, okta: tokens.okta! }, deviations.storeOnly);
    const vendorBacked = await runSuites(
      `vendor-backed target (${vendor} sandbox)`,
      bridge.scimBaseUrl,
      { microsoft: tokens["microsoft-vendor"]!, okta: tokens["okta-vendor"]! },
      deviations.vendorBacked,
    );
    const unexpected = storeOnly.unexpected + vendorBacked.unexpected;
    // "failed" counts what the deviations file does not list; listed deviations are reported beside it.
    console.log(
      `\n${storeOnly.listed + vendorBacked.listed} assertions not met are listed in conformance/deviations.yaml, each with the vendor rule behind it.`,
    );
    console.log(`conformance: ${storeOnly.passed + vendorBacked.passed} passed, ${unexpected} failed`);
    return unexpected === 0 ? 0 : 1;
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

/** The reviewed list of suite assertions this bridge does not meet, each with its reason (conformance/deviations.yaml). */
import { join } from "node:path";
import { z } from "zod";
import { loadYamlFile } from "../../src/config/yaml-file";

const SuiteDeviations = z
  .object({
    microsoft: z.array(z.object({ request: z.string(), assertion: z.string(), reason: z.string().min(10) }).strict()).default([]),
    okta: z.array(z.object({ step: z.string(), assertion: z.string(), reason: z.string().min(10) }).strict()).default([]),
  })
  .strict();

/** Per kind of target: store-only targets have none to list; a vendor-backed target lists its vendor's rules. */
const DeviationsSchema = z
  .object({
    storeOnly: SuiteDeviations.default({ microsoft: [], okta: [] }),
    vendorBacked: SuiteDeviations.extend({ vendor: z.string() }).strict(),
  })
  .strict();

export type Deviations = z.infer<typeof DeviationsSchema>;
export type SuiteDeviationList = z.infer<typeof SuiteDeviations>;

export function loadDeviations(root: string): Deviations {
  return loadYamlFile(join(root, "conformance", "deviations.yaml"), DeviationsSchema);
}

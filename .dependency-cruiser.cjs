/**
 * The floor plan, checked by `npm run lint`: no import circles (type imports included), each folder of
 * src/ imports only the folders below it (docs/architecture.md), and the vendor sandboxes are reached only
 * from the demo start, tests and benchmarks.
 */

/** The layers, top first; a folder may import its own layer's files and any layer below it. */
const LAYERS = [
  ["main\\.ts", "cli\\.ts", "cli", "sandbox"],
  ["status", "http"],
  ["scim"],
  ["provisioning"],
  ["mapping"],
  ["vendors"],
  ["store"],
  ["scim-model"],
  ["config", "lib", "log\\.ts", "version\\.ts", "start-error\\.ts"],
];

const folder = (names) => `^src/(${names.join("|")})(/|$)`;

/** For each layer, a rule: its files import nothing from a layer above it. */
const layerRules = LAYERS.slice(1).map((layer, i) => ({
  name: `layer-${layer[0].replace(/\\/g, "")}`,
  comment: `${layer.join(", ")} may not import from the layers above it (docs/architecture.md)`,
  severity: "error",
  from: { path: folder(layer) },
  to: { path: folder(LAYERS.slice(0, i + 1).flat()) },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "No two files import each other, directly or through others (type imports included).",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: "http-not-status",
      comment: "The status routes are mounted by main.ts; http/ knows nothing of them.",
      severity: "error",
      from: { path: "^src/http/" },
      to: { path: "^src/status/" },
    },
    {
      name: "sandbox-only-for-demo-and-tests",
      comment: "The vendor simulators are loaded by the demo start (cli/serve.ts starts sandbox/demo.ts), tests and benchmarks only.",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/sandbox/", "^src/cli/serve\\.ts$"] },
      to: { path: "^src/sandbox/" },
    },
    {
      name: "serve-reaches-only-the-demo",
      severity: "error",
      from: { path: "^src/cli/serve\\.ts$" },
      to: { path: "^src/sandbox/", pathNot: "^src/sandbox/demo\\.ts$" },
    },
    {
      name: "no-unresolvable",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
  },
};

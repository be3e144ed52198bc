// Mutation testing of the core rules (`npm run mutate`): too slow for CI on two cores; its score is kept in
// bench/README.md. Only the tests that exercise these modules run, each mutant against the tests covering it.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "jest",
  coverageAnalysis: "perTest",
  mutate: [
    "src/provisioning/outbox.ts",
    "src/provisioning/rate-limiter.ts",
    "src/provisioning/circuit.ts",
    "src/provisioning/retry.ts",
    "src/store/resources/filter-sql.ts",
    "src/scim/render.ts",
    "src/mapping/transforms.ts",
    "src/mapping/compile.ts",
  ],
  jest: {
    projectType: "custom",
    config: {
      testEnvironment: "node",
      roots: ["<rootDir>/test"],
      testMatch: [
        "**/core-rules.test.ts",
        "**/rate-limiter.test.ts",
        "**/filter-sql.test.ts",
        "**/filter-sql-rules.test.ts",
        "**/filter.test.ts",
        "**/render.test.ts",
        "**/render-rules.test.ts",
        "**/mapping-language.test.ts",
        "**/mapping-compile-rules.test.ts",
        "**/retry-rules.test.ts",
        "**/outbox-rules.test.ts",
        "**/outbox-settlement.test.ts",
        "**/circuit-rules.test.ts",
        "**/rate-limiter-rules.test.ts",
      ],
      transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
      testTimeout: 30000,
    },
    enableFindRelatedTests: false,
  },
  concurrency: 2,
  timeoutMS: 20000,
  reporters: ["clear-text", "progress"],
  tempDirName: ".stryker-tmp",
  ignorePatterns: ["data", "dist", "bench/results", ".stryker-tmp", "reports"],
};

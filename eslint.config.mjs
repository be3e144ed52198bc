// ESLint (flat config): typescript-eslint's recommended rules, with the ones that would only restyle
// working code turned off, and the ones that catch bugs kept.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "test/fixtures/**", ".stryker-tmp/**", "reports/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Non-null assertions mark places where the code knows more than the types (a map filled just before).
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // One-line `if (x) a.push(1), b.push(2);` is the house style; TypeScript catches the useless expressions that matter.
      "@typescript-eslint/no-unused-expressions": "off",
      // Input validation matches control characters on purpose.
      "no-control-regex": "off",
      // Timers re-armed between phases (t = performance.now()) read as intended.
      "no-useless-assignment": "off",
    },
  },
  {
    // Tests poke at internals with casts.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly", __dirname: "readonly", process: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);

// ESLint (flat config) for the site's scripts: the recommended rules, browser globals for the page code and
// node globals for the build script and the node tests. `npm run lint`; tests/frontend/test_lint.py runs it.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["frontend/static/**", "node_modules/**", "test-artifacts/**", ".venv/**", "var/**"] },
  js.configs.recommended,
  {
    files: ["frontend/js/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },
  {
    // The admin's small page scripts (job progress, ...): classic scripts served as they are, no build.
    files: ["{core,collection,analysis,maps}/static/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "script", globals: { ...globals.browser } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },
  {
    files: ["frontend/js/**/*.mjs", "frontend/js/tests/**/*.js", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
  },
];

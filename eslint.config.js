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
    files: ["frontend/js/**/*.mjs", "frontend/js/tests/**/*.js", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
  },
];

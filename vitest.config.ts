import { defineConfig } from "vitest/config"

// One project per package so `pnpm --filter @hookline/<pkg> test` runs just that package,
// while `pnpm test` at the root runs them all in one process pool.
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: "domain", include: ["packages/domain/src/**/*.test.ts"] } },
      { extends: true, test: { name: "adapters", include: ["packages/adapters/src/**/*.test.ts"] } },
      { extends: true, test: { name: "server", include: ["packages/server/src/**/*.test.ts"] } },
      { extends: true, test: { name: "e2e", include: ["test/**/*.test.ts", "examples/**/*.test.ts"] } }
    ],
    // CI also writes a JSON report, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".vitest-report.json" }]] : ["default"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})

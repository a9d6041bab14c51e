/**
 * `pnpm start`: the standalone server. Until the HTTP server lands, it says
 * what exists so that the README's start command is true at every commit.
 */
console.log(
  [
    "Hookline: the HTTP server is not built yet.",
    "What exists: @hookline/domain (ids, tenancy, errors, attempt outcomes, ports).",
    "Run the tests with ./dev test."
  ].join("\n")
)

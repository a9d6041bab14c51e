/**
 * `@hookline/domain`: the pure core of Hookline. Each module is one concept;
 * import them as namespaces.
 *
 * @since 0.1.0
 */
export * as Errors from "./Errors.ts"
export * as Ids from "./Ids.ts"
export * as Tenancy from "./Tenancy.ts"

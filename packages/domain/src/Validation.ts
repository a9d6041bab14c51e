/**
 * Schema checks as domain errors. Commands are built in code, so TypeScript
 * sees their shape but not their refinements (lengths, patterns, ranges);
 * deciders re-check those with the same schemas and report every broken
 * field as one `ValidationFailed` with dotted field paths.
 *
 * @since 0.1.0
 */
import { Result, Schema, SchemaIssue } from "effect"
import { type FieldIssue, ValidationFailed } from "./Errors.ts"

const standard = SchemaIssue.makeFormatterStandardSchemaV1()

/** Every leaf of a schema issue as a field issue, its path dotted under `root`. */
export const fieldIssues = (issue: SchemaIssue.Issue, root: string): ReadonlyArray<FieldIssue> =>
  standard(issue).issues.map((leaf) => ({
    path: [root, ...(leaf.path ?? []).map((key) => String(typeof key === "object" ? key.key : key))]
      .filter((part) => part !== "")
      .join("."),
    message: leaf.message
  }))

/** Decodes `input` with `schema`, or fails with every issue found, under field path `root`. */
export const decode = <S extends Schema.ConstraintDecoder<unknown>>(
  schema: S,
  input: unknown,
  root: string
): Result.Result<S["Type"], ValidationFailed> =>
  Result.mapError(
    Schema.decodeUnknownResult(schema)(input, { errors: "all" }),
    (error) => new ValidationFailed({ issues: fieldIssues(error.issue, root) })
  )

/** A `ValidationFailed` for one field. */
export const fail = (path: string, message: string): ValidationFailed =>
  new ValidationFailed({ issues: [{ path, message }] })

/** Runs every check and merges the failures into one `ValidationFailed`, so a client sees all problems at once. */
export const all = (
  checks: ReadonlyArray<Result.Result<unknown, ValidationFailed>>
): Result.Result<void, ValidationFailed> => {
  const issues = checks.flatMap((check) => (Result.isFailure(check) ? check.failure.issues : []))
  return issues.length === 0 ? Result.succeed(undefined) : Result.fail(new ValidationFailed({ issues }))
}

/**
 * Client JSON that Hookline stores (event `data`, and every string of a
 * request body): what the store can hold, as domain rules. Nesting is bounded
 * at `maxDepth` levels, because serialisers and PostgreSQL's own JSON parser
 * recurse per level: a few kilobytes of `[[[…]]]` overflow them (or hang the
 * embedded store) long before any size limit. A string must be storable as
 * PostgreSQL text: no U+0000 and no unpaired UTF-16 surrogate, neither of
 * which has a spelling PostgreSQL accepts. Every walk here is iterative, so no
 * input can overflow the stack of the check meant to refuse it.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { ValidationFailed } from "./Errors.ts"

/** The deepest nesting of arrays and objects accepted in a stored JSON value. */
export const maxDepth = 64

/** One part of a path into a JSON value: an object key or an array index. */
export type PathPart = string | number

/** A place in a JSON value that breaks a rule, and why. */
export interface Problem {
  readonly path: ReadonlyArray<PathPart>
  readonly message: string
}

// Without the `u` flag the pattern sees UTF-16 code units, so it finds a high surrogate not followed by a low
// one, or a low one not preceded by a high one.
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Why `text` cannot be stored, or `undefined` when it can. */
export const textProblem = (text: string): string | undefined =>
  text.includes("\u0000")
    ? "must not contain U+0000 (NUL)"
    : loneSurrogate.test(text)
      ? "must not contain an unpaired UTF-16 surrogate"
      : undefined

/** An array or object on the walk's stack, with how to name its place when something inside it is wrong. */
interface Frame {
  readonly value: object
  readonly level: number
  readonly parent: Frame | undefined
  readonly key: PathPart
}

const pathOf = (frame: Frame | undefined): Array<PathPart> => {
  const path: Array<PathPart> = []
  for (let at = frame; at?.parent !== undefined; at = at.parent) path.push(at.key)
  return path.reverse()
}

/** Options of `problems`. */
export interface Limits {
  /** The deepest nesting accepted (`maxDepth` unless told). */
  readonly maxDepth?: number
  /** Stop after this many problems (so an answer stays small whatever the input). */
  readonly maxProblems?: number
  /** What nesting past `maxDepth` is: a problem (the default), or a part not looked into (see `problems`). */
  readonly tooDeep?: "refuse" | "skip"
}

/**
 * What in `value` cannot be stored: nesting deeper than the limit (reported
 * once, at `value` itself), and every string, keys included, that
 * `textProblem` refuses. Scalars are depth 0, `[]` and `{}` depth 1, `[[1]]`
 * depth 2. Iterative: a value of any depth is walked without recursion, and
 * never past the limit, so its depth costs no more than the limit. With
 * `tooDeep: "skip"` what lies deeper is left unexamined rather than refused,
 * for a caller that knows nothing that deep is kept (a request body, whose
 * stored values, refused when too deep, sit one level down).
 */
export const problems = (value: unknown, limits: Limits = {}): ReadonlyArray<Problem> => {
  const deepest = limits.maxDepth ?? maxDepth
  const most = limits.maxProblems ?? 10
  const found: Array<Problem> = []
  const visitLeaf = (leaf: unknown, frame: Frame | undefined, key: PathPart | undefined) => {
    if (typeof leaf !== "string") return
    const message = textProblem(leaf)
    if (message === undefined) return
    const path = pathOf(frame)
    found.push({ path: key === undefined ? path : [...path, key], message })
  }
  if (typeof value !== "object" || value === null) {
    visitLeaf(value, undefined, undefined)
    return found
  }
  let tooDeep = false
  const stack: Array<Frame> = [{ value, level: 1, parent: undefined, key: "" }]
  while (stack.length > 0 && found.length < most) {
    const frame = stack.pop() as Frame
    if (frame.level > deepest) {
      // Reported at the value itself: the path to the first container too deep would be `deepest` parts long.
      if (!tooDeep && limits.tooDeep !== "skip") {
        found.push({ path: [], message: `must be nested at most ${deepest} levels deep` })
      }
      tooDeep = true
      continue
    }
    const visit = (child: unknown, key: PathPart) => {
      if (typeof child === "object" && child !== null) {
        stack.push({ value: child, level: frame.level + 1, parent: frame, key })
      } else visitLeaf(child, frame, key)
    }
    if (Array.isArray(frame.value)) {
      frame.value.forEach(visit)
    } else {
      for (const [key, child] of Object.entries(frame.value)) {
        const message = textProblem(key)
        if (message !== undefined) found.push({ path: pathOf(frame), message: `key ${JSON.stringify(key)} ${message}` })
        visit(child, key)
      }
    }
  }
  return found.slice(0, most)
}

/**
 * Accepts `value` when the store can hold it: nested at most `maxDepth` levels deep, every string storable; else
 * `ValidationFailed` naming each place under field path `root`. A rule checked by the code that accepts a value,
 * not a schema refinement: generated test data (`Schema.Json`'s arbitrary) would rarely pass it.
 */
export const validate = (value: unknown, root: string): Result.Result<void, ValidationFailed> => {
  const found = problems(value)
  return found.length === 0
    ? Result.void
    : Result.fail(
        new ValidationFailed({
          issues: found.map(({ path, message }) => ({
            path: [root, ...path.map(String)].filter((part) => part !== "").join("."),
            message
          }))
        })
      )
}

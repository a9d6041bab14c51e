/**
 * The API key store on PostgreSQL SQL, run by either backend (a PostgreSQL
 * server through postgres.js, or the embedded PGlite). Secrets never reach
 * it: keys and clients are stored and found by the SHA-256 of their secret.
 * Scopes are one space-separated text column (OAuth's own `scope` format), and
 * times cross the driver as epoch milliseconds, so both backends read and
 * write exactly the same values.
 */
import { ApiKey, ApiKeyStore, type ListFilter, OAuthClient } from "@hookline/domain/ApiKey"
import type * as Cursor from "@hookline/domain/Cursor"
import { NotFound } from "@hookline/domain/Errors"
import type { ApiKeyId, OAuthClientId } from "@hookline/domain/Ids"
import { StoreError } from "@hookline/domain/StoreError"
import { Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { toStoreError } from "./SqlFailure.ts"
import * as SqlPage from "./SqlPage.ts"

interface CredentialRow {
  readonly id: string
  readonly tenant: string
  readonly mode: string
  readonly scopes: string
  readonly name?: string | null
  readonly secret_hash: string
  readonly created_ms: number | string
  readonly revoked_ms: number | string | null
}

const fields = (row: CredentialRow) => ({
  id: row.id,
  tenant: row.tenant,
  mode: row.mode,
  scopes: row.scopes === "" ? [] : row.scopes.split(" "),
  createdAt: Number(row.created_ms),
  ...(row.revoked_ms === null ? {} : { revokedAt: Number(row.revoked_ms) })
})

const corrupt = (table: string) => () =>
  new StoreError({ reason: "unknown", retryable: false, message: `a row of ${table} does not decode` })

const decodeKey = (row: CredentialRow) =>
  Schema.decodeUnknownEffect(ApiKey)(fields(row)).pipe(Effect.mapError(corrupt("hookline_api_keys")))

const decodeClient = (row: CredentialRow) =>
  Schema.decodeUnknownEffect(OAuthClient)({
    ...fields(row),
    ...(row.name === null || row.name === undefined ? {} : { name: row.name })
  }).pipe(Effect.mapError(corrupt("hookline_oauth_clients")))

const joinScopes = (scopes: ReadonlyArray<string>) => scopes.join(" ")

// Epoch milliseconds as float8, which every driver returns as a JS number.
const times = `(extract(epoch from created_at) * 1000)::float8 AS created_ms,
  (extract(epoch from revoked_at) * 1000)::float8 AS revoked_ms`
const keyColumnList = `id, tenant, mode, scopes, secret_hash, ${times}`
const clientColumnList = `id, tenant, mode, scopes, name, secret_hash, ${times}`

/** Builds the store on the ambient `SqlClient`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const keyColumns = sql.literal(keyColumnList)
  const clientColumns = sql.literal(clientColumnList)
  const at = (ms: number) => sql`to_timestamp(${ms}::float8 / 1000)`

  const filters = (filter: ListFilter) => [
    ...(filter.tenant === undefined ? [] : [sql`tenant = ${filter.tenant}`]),
    ...(filter.mode === undefined ? [] : [sql`mode = ${filter.mode}`])
  ]

  // Pages through SqlPage (the domain's cursor semantics), then decodes each row.
  const list = <A>(
    table: string,
    columns: string,
    filter: ListFilter,
    request: Cursor.PageRequest,
    decode: (row: CredentialRow) => Effect.Effect<A, StoreError>
  ) =>
    SqlPage.page(sql, { table, columns, where: filters(filter), request, decode: (row: CredentialRow) => row }).pipe(
      Effect.flatMap((page) => Effect.map(Effect.forEach(page.data, decode), (data) => ({ ...page, data })))
    )

  const createKey = (key: ApiKey, secretHash: string) =>
    sql`
      INSERT INTO hookline_api_keys (id, tenant, mode, scopes, secret_hash, created_at)
      VALUES (${key.id}, ${key.tenant}, ${key.mode}, ${joinScopes(key.scopes)}, ${secretHash}, ${at(key.createdAt)})`.pipe(
      Effect.asVoid,
      Effect.mapError(toStoreError),
      Effect.withSpan("PgApiKeyStore.createKey")
    )

  const findKeyByHash = (secretHash: string) =>
    sql<CredentialRow>`SELECT ${keyColumns} FROM hookline_api_keys WHERE secret_hash = ${secretHash}`.pipe(
      Effect.mapError(toStoreError),
      Effect.flatMap((rows) =>
        rows[0] === undefined ? Effect.succeedNone : Effect.map(decodeKey(rows[0]), Option.some)
      )
    )

  const listKeys = (filter: ListFilter, request: Cursor.PageRequest) =>
    list("hookline_api_keys", keyColumnList, filter, request, decodeKey)

  const revokeKey = (id: ApiKeyId, revokedAt: number) =>
    sql<CredentialRow>`
      UPDATE hookline_api_keys SET revoked_at = COALESCE(revoked_at, ${at(revokedAt)})
      WHERE id = ${id} RETURNING ${keyColumns}`.pipe(
      Effect.mapError(toStoreError),
      Effect.flatMap(
        (rows): Effect.Effect<ApiKey, NotFound | StoreError> =>
          rows[0] === undefined ? Effect.fail(new NotFound({ resource: "api_key", id })) : decodeKey(rows[0])
      )
    )

  const createClient = (client: OAuthClient, secretHash: string) =>
    sql`
      INSERT INTO hookline_oauth_clients (id, tenant, mode, scopes, name, secret_hash, created_at)
      VALUES (${client.id}, ${client.tenant}, ${client.mode}, ${joinScopes(client.scopes)}, ${client.name ?? null},
              ${secretHash}, ${at(client.createdAt)})`.pipe(
      Effect.asVoid,
      Effect.mapError(toStoreError),
      Effect.withSpan("PgApiKeyStore.createClient")
    )

  const findClient = (id: OAuthClientId) =>
    sql<CredentialRow>`SELECT ${clientColumns} FROM hookline_oauth_clients WHERE id = ${id}`.pipe(
      Effect.mapError(toStoreError),
      Effect.flatMap((rows) => {
        const row = rows[0]
        return row === undefined
          ? Effect.succeedNone
          : Effect.map(decodeClient(row), (client) => Option.some({ client, secretHash: row.secret_hash }))
      })
    )

  const listClients = (filter: ListFilter, request: Cursor.PageRequest) =>
    list("hookline_oauth_clients", clientColumnList, filter, request, decodeClient)

  const revokeClient = (id: OAuthClientId, revokedAt: number) =>
    sql<CredentialRow>`
      UPDATE hookline_oauth_clients SET revoked_at = COALESCE(revoked_at, ${at(revokedAt)})
      WHERE id = ${id} RETURNING ${clientColumns}`.pipe(
      Effect.mapError(toStoreError),
      Effect.flatMap(
        (rows): Effect.Effect<OAuthClient, NotFound | StoreError> =>
          rows[0] === undefined ? Effect.fail(new NotFound({ resource: "oauth_client", id })) : decodeClient(rows[0])
      )
    )

  const setting = (name: string) =>
    sql<{ readonly value: string }>`SELECT value FROM hookline_settings WHERE name = ${name}`.pipe(
      Effect.map((rows) => Option.fromNullishOr(rows[0]?.value)),
      Effect.mapError(toStoreError)
    )

  // Insert-if-absent then read back: of several processes starting at once, the first insert wins for all.
  const initSetting = (name: string, value: string) =>
    sql`INSERT INTO hookline_settings (name, value) VALUES (${name}, ${value}) ON CONFLICT (name) DO NOTHING`.pipe(
      Effect.andThen(sql<{ readonly value: string }>`SELECT value FROM hookline_settings WHERE name = ${name}`),
      Effect.mapError(toStoreError),
      Effect.flatMap((rows) =>
        rows[0] === undefined
          ? Effect.fail(new StoreError({ reason: "unknown", retryable: true, message: `setting ${name} vanished` }))
          : Effect.succeed(rows[0].value)
      )
    )

  return ApiKeyStore.of({
    createKey,
    findKeyByHash,
    listKeys,
    revokeKey,
    createClient,
    findClient,
    listClients,
    revokeClient,
    setting,
    initSetting
  })
})

/** The API key store over whichever `SqlClient` is provided. */
export const layer: Layer.Layer<ApiKeyStore, never, SqlClient.SqlClient> = Layer.effect(ApiKeyStore, make)

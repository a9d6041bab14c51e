/**
 * Access control: API keys, OAuth clients and server-wide settings (the admin
 * token's hash, the access-token signing key). Secrets are never stored, only
 * their SHA-256 (hex), which is what a presented credential is looked up by.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE hookline_api_keys (
      id          text        PRIMARY KEY,
      tenant      text        NOT NULL,
      mode        text        NOT NULL,
      scopes      text        NOT NULL, -- space-separated, like OAuth's scope parameter
      secret_hash text        NOT NULL,
      created_at  timestamptz NOT NULL,
      revoked_at  timestamptz,
      CONSTRAINT hookline_api_keys_secret_hash UNIQUE (secret_hash)
    )`
  // Admin listings by tenant, in id (creation) order.
  yield* sql`CREATE INDEX hookline_api_keys_tenant ON hookline_api_keys (tenant, mode, id)`

  yield* sql`
    CREATE TABLE hookline_oauth_clients (
      id          text        PRIMARY KEY,
      tenant      text        NOT NULL,
      mode        text        NOT NULL,
      scopes      text        NOT NULL, -- space-separated, like OAuth's scope parameter
      name        text,
      secret_hash text        NOT NULL,
      created_at  timestamptz NOT NULL,
      revoked_at  timestamptz
    )`
  yield* sql`CREATE INDEX hookline_oauth_clients_tenant ON hookline_oauth_clients (tenant, mode, id)`

  // Small key/value table; rows are written once (INSERT … ON CONFLICT DO NOTHING).
  yield* sql`
    CREATE TABLE hookline_settings (
      name       text        PRIMARY KEY,
      value      text        NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`
})

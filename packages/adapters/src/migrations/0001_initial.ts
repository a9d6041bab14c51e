/**
 * The whole SQL design, identical on PostgreSQL and the embedded PGlite store.
 * Tables carry a `hookline_` prefix because hosts may run Hookline inside their
 * own database (the transactional outbox).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  // The event store: every subscription and delivery stream, in one global order.
  yield* sql`
    CREATE TABLE hookline_events (
      position    bigserial PRIMARY KEY,
      stream_id   text        NOT NULL,
      version     integer     NOT NULL,
      type        text        NOT NULL,
      data        jsonb       NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT hookline_events_stream_version UNIQUE (stream_id, version)
    )`

  // Read model of subscriptions: the folded state, plus the columns lists filter on.
  yield* sql`
    CREATE TABLE hookline_subscriptions (
      id          text        PRIMARY KEY,
      tenant      text        NOT NULL,
      mode        text        NOT NULL,
      event_types text[]      NOT NULL,
      is_active   boolean     NOT NULL,
      deleted     boolean     NOT NULL DEFAULT false,
      integration_id text,
      state       jsonb       NOT NULL,
      version     integer     NOT NULL,
      created_at  timestamptz NOT NULL,
      updated_at  timestamptz NOT NULL
    )`
  // Keyset pagination per owner (ids sort by creation time).
  yield* sql`CREATE INDEX hookline_subscriptions_owner ON hookline_subscriptions (tenant, mode, id) WHERE NOT deleted`
  // Fan-out: the candidate subscriptions of one event type.
  yield* sql`CREATE INDEX hookline_subscriptions_types ON hookline_subscriptions USING gin (event_types) WHERE is_active AND NOT deleted`

  // Published events: immutable facts, with their idempotency key.
  yield* sql`
    CREATE TABLE hookline_published_events (
      id              text        PRIMARY KEY,
      tenant          text        NOT NULL,
      mode            text        NOT NULL,
      type            text        NOT NULL,
      data            jsonb       NOT NULL,
      resource_id     text,
      account_id      text,
      idempotency_key text,
      deliveries      integer     NOT NULL,
      occurred_at     timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX hookline_published_events_owner ON hookline_published_events (tenant, mode, id)`
  yield* sql`
    CREATE UNIQUE INDEX hookline_published_events_idempotency
      ON hookline_published_events (tenant, mode, idempotency_key) WHERE idempotency_key IS NOT NULL`

  // Deliveries: read model AND queue. A delivery is claimable when it is pending
  // and next_attempt_at has passed; a lease pushes next_attempt_at to the lease's
  // end, so an expired lease makes it claimable again with no sweeper.
  yield* sql`
    CREATE TABLE hookline_deliveries (
      id              text        PRIMARY KEY,
      tenant          text        NOT NULL,
      mode            text        NOT NULL,
      subscription_id text        NOT NULL,
      event_id        text        NOT NULL,
      event_type      text        NOT NULL,
      status          text        NOT NULL,
      ordered         boolean     NOT NULL DEFAULT false,
      attempts        integer     NOT NULL DEFAULT 0,
      next_attempt_at timestamptz,
      lease_owner     text,
      lease_count     integer     NOT NULL DEFAULT 0,
      last_status     integer,
      state           jsonb       NOT NULL,
      version         integer     NOT NULL,
      created_at      timestamptz NOT NULL,
      updated_at      timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX hookline_deliveries_due ON hookline_deliveries (next_attempt_at) WHERE status = 'pending'`
  yield* sql`CREATE INDEX hookline_deliveries_owner ON hookline_deliveries (tenant, mode, id)`
  yield* sql`CREATE INDEX hookline_deliveries_subscription ON hookline_deliveries (subscription_id, id)`
  yield* sql`CREATE INDEX hookline_deliveries_status ON hookline_deliveries (tenant, mode, status, id)`

  // The attempt log, one row per HTTP attempt.
  yield* sql`
    CREATE TABLE hookline_attempts (
      id           text        PRIMARY KEY,
      delivery_id  text        NOT NULL,
      tenant       text        NOT NULL,
      mode         text        NOT NULL,
      attempted_at timestamptz NOT NULL,
      status_code  integer,
      failure      text,
      duration_ms  double precision NOT NULL,
      outcome      jsonb       NOT NULL
    )`
  yield* sql`CREATE INDEX hookline_attempts_delivery ON hookline_attempts (delivery_id, id)`
  yield* sql`CREATE INDEX hookline_attempts_time ON hookline_attempts (attempted_at)`
})

/**
 * The in-memory table under Hookline's read caches (`CredentialCache`,
 * `SubscriptionListCache`): entries that expire, at most `maxEntries` of them
 * (the least recently used goes first), each filed under the id of what it
 * was read for, so one invalidation drops every entry of that id (a revoked
 * key's one entry, or every cached page of one owner's subscriptions).
 *
 * A plain insertion-ordered `Map`, not `effect/Cache`: a hit is a lookup and
 * a move to the end, with no fiber or deferred, which is what a read on every
 * request can afford.
 *
 * @since 0.1.0
 */

/** Entries by key, each under an id; see the module's doc. */
export interface LruTable<A> {
  /** The live entry under `key`, now the most recently used; an expired one is removed. */
  readonly get: (key: string, now: number) => A | undefined
  /** Keeps `value` under `key` (filed under `id`) until `expiresAt`, evicting the least recently used past the limit. */
  readonly set: (key: string, id: string, value: A, expiresAt: number) => void
  /** Drops every entry filed under `id`. */
  readonly removeId: (id: string) => void
  /** How many entries are kept (expired ones included until they are read or evicted). */
  readonly size: () => number
}

interface Entry<A> {
  readonly id: string
  readonly value: A
  readonly expiresAt: number
}

/** An empty table holding at most `maxEntries`. */
export const make = <A>(maxEntries: number): LruTable<A> => {
  const entries = new Map<string, Entry<A>>()
  const keysOf = new Map<string, Set<string>>()
  const unfile = (id: string, key: string) => {
    const keys = keysOf.get(id)
    if (keys === undefined) return
    keys.delete(key)
    if (keys.size === 0) keysOf.delete(id)
  }
  const remove = (key: string) => {
    const entry = entries.get(key)
    if (entry === undefined) return
    entries.delete(key)
    unfile(entry.id, key)
  }
  return {
    get: (key, now) => {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      entries.delete(key)
      if (entry.expiresAt <= now) {
        unfile(entry.id, key)
        return undefined
      }
      entries.set(key, entry)
      return entry.value
    },
    set: (key, id, value, expiresAt) => {
      remove(key)
      entries.set(key, { id, value, expiresAt })
      const keys = keysOf.get(id)
      if (keys === undefined) keysOf.set(id, new Set([key]))
      else keys.add(key)
      for (const oldest of entries.keys()) {
        if (entries.size <= maxEntries) break
        remove(oldest)
      }
    },
    removeId: (id) => {
      const keys = keysOf.get(id)
      if (keys === undefined) return
      keysOf.delete(id)
      for (const key of keys) entries.delete(key)
    },
    size: () => entries.size
  }
}

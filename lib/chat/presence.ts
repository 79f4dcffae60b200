/**
 * Presence as state plus diffs (Phoenix-style), keyed by user with one meta
 * per connection, so a person with three tabs is one entry and leaves only
 * when their last connection does. Pure: the island and the server share it.
 *
 * @module
 */

import type { ChatUser, PresenceDiff, PresenceState } from "./types.ts";

/** A fresh state object with no prototype, so user ids like `__proto__` are plain keys. */
export function emptyPresence(): PresenceState {
  return Object.create(null);
}

/**
 * Applies a diff. Idempotent: a join of a known connection or a leave of an
 * unknown one changes nothing, so the same diff may arrive from several
 * instances.
 *
 * @example
 * ```ts
 * let s = emptyPresence();
 * s = applyPresenceDiff(s, { joins: { u1: { user, metas: [{ conn: "a", since: 1 }] } }, leaves: {} });
 * Object.keys(s); // ["u1"]
 * ```
 */
export function applyPresenceDiff(
  state: PresenceState,
  diff: Partial<PresenceDiff>,
): PresenceState {
  const next: PresenceState = emptyPresence();
  for (const [id, entry] of Object.entries(state)) {
    next[id] = { user: entry.user, metas: [...entry.metas] };
  }
  for (const [id, join] of Object.entries(diff.joins ?? {})) {
    const entry = next[id] ?? (next[id] = { user: join.user, metas: [] });
    entry.user = join.user;
    for (const meta of join.metas) {
      if (!entry.metas.some((m) => m.conn === meta.conn)) {
        entry.metas.push(meta);
      }
    }
  }
  for (const [id, leave] of Object.entries(diff.leaves ?? {})) {
    const entry = next[id];
    if (!entry) continue;
    const gone = new Set(leave.metas.map((m) => m.conn));
    entry.metas = entry.metas.filter((m) => !gone.has(m.conn));
    if (entry.metas.length === 0) delete next[id];
  }
  return next;
}

/**
 * The state after a `presence` frame: a frame with `state` replaces what was
 * known (then its `joins`/`leaves`, if any, apply on top); one without is a
 * diff on `before`.
 *
 * @example
 * ```ts
 * let s = emptyPresence();
 * s = nextPresence(s, { state: welcomeState, joins: { u2: entry } });
 * ```
 */
export function nextPresence(
  before: PresenceState,
  frame: Partial<PresenceDiff> & { state?: PresenceState },
): PresenceState {
  return applyPresenceDiff(frame.state ?? before, frame);
}

/** Present users, earliest first (stable order for the list). */
export function presentUsers(state: PresenceState): ChatUser[] {
  return Object.values(state)
    .map((e) => ({
      user: e.user,
      since: Math.min(...e.metas.map((m) => m.since)),
    }))
    .sort((a, b) => a.since - b.since || a.user.name.localeCompare(b.user.name))
    .map((e) => e.user);
}

/** A single-connection diff entry. */
export function presenceOf(
  user: ChatUser,
  conn: string,
  since: number,
): PresenceState {
  const state = emptyPresence();
  state[user.id] = { user, metas: [{ conn, since }] };
  return state;
}

/**
 * "Ana is typing…", "Ana and Ben are typing…", "Ana and 2 others are typing…".
 * Returns "" when nobody is.
 */
export function typingLabel(names: readonly string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names[0]} and ${names.length - 1} others are typing…`;
}

/** Who arrived and who went between two presence states. */
export interface PresenceChanges {
  joined: ChatUser[];
  left: ChatUser[];
}

/**
 * The people who joined and left between `before` and `after`, leaving out
 * `selfId` (you never "join" your own room). A person with several
 * connections joins with the first and leaves with the last.
 *
 * @example
 * ```ts
 * const { joined, left } = presenceChanges(before, after, me.id);
 * activityLine({ joined, left }); // "Ana joined"
 * ```
 */
export function presenceChanges(
  before: PresenceState,
  after: PresenceState,
  selfId: string,
): PresenceChanges {
  return {
    joined: Object.keys(after)
      .filter((id) => !Object.hasOwn(before, id) && id !== selfId)
      .map((id) => after[id].user),
    left: Object.keys(before)
      .filter((id) => !Object.hasOwn(after, id) && id !== selfId)
      .map((id) => before[id].user),
  };
}

/** Above this many names, a join or leave line gives a count instead. */
const MAX_NAMED_IN_ACTIVITY = 2;

/**
 * "Ana joined", "Ana and Ben left", "5 people joined · Cy left"; `null` when
 * nobody came or went.
 *
 * @example
 * ```ts
 * activityLine({ joined: [ana], left: [] }); // "Ana joined"
 * ```
 */
export function activityLine(changes: PresenceChanges): string | null {
  const part = (users: ChatUser[], verb: string) =>
    users.length === 0
      ? null
      : users.length <= MAX_NAMED_IN_ACTIVITY
      ? `${users.map((u) => u.name).join(" and ")} ${verb}`
      : `${users.length} people ${verb}`;
  const parts = [part(changes.joined, "joined"), part(changes.left, "left")]
    .filter(Boolean);
  return parts.length ? parts.join(" · ") : null;
}

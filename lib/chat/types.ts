/**
 * The data every part of Roomcast shares: who a user is, what a stored
 * message is, and who is present in a room. Types only, so the protocol, the
 * presence logic, the stores and the auth code can all use them without
 * importing each other.
 *
 * @module
 */

/** Who wrote a message, as every client sees it. */
export interface ChatUser {
  id: string;
  name: string;
  kind: "guest" | "google";
  picture?: string;
}

/** A stored chat message. `seq` is the room's gapless, increasing sequence number. */
export interface ChatMessage {
  id: string;
  seq: number;
  room: string;
  user: ChatUser;
  text: string;
  /** Milliseconds since the Unix epoch, server clock. */
  ts: number;
  /** The sender's idempotency key; lets the sender reconcile its pending copy. */
  clientId: string;
}

/** One connection of a present user. */
export interface PresenceMeta {
  /** The connection's channel name. */
  conn: string;
  /** When it joined, ms since the epoch. */
  since: number;
}

/** A present user and their connections. */
export interface PresenceEntry {
  user: ChatUser;
  metas: PresenceMeta[];
}

/** Who is in a room: user id → entry. */
export type PresenceState = Record<string, PresenceEntry>;

/** Changes to apply to a {@link PresenceState}. */
export interface PresenceDiff {
  joins: PresenceState;
  leaves: PresenceState;
}

/** A room as the lobby shows it. */
export interface LobbyRoom {
  room: string;
  /** Distinct people connected now. */
  online: number;
  /** Time of the last message (0 if none), ms since the epoch. */
  lastTs: number;
  lastSeq: number;
}

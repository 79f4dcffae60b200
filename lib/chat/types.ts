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
  /** The `seq` of the message this one replies to. */
  replyTo?: number;
  /** What the reply quotes of its parent, folded by the store (see `lib/chat/events.ts`). */
  quote?: ReplyQuote;
  /** When the text was last edited, ms since the epoch. */
  edited?: number;
  /** Set once the message is deleted: its text (and reactions) are gone. */
  deleted?: { by: DeleteBy; ts: number };
  /** Reactions in the order they were first made; each with who reacted, in order. */
  reactions?: Reaction[];
  /**
   * The `seq` of the last event folded into this message (absent: none, it
   * is `seq`). An event with a `seq` at or below it is already applied.
   */
  rev?: number;
}

/** Who deleted a message. */
export type DeleteBy = "author" | "moderator";

/** A reacting user, as a reaction lists them. */
export interface Reactor {
  id: string;
  name: string;
}

/** One emoji on a message and who put it there (first reactor first). */
export interface Reaction {
  emoji: string;
  users: Reactor[];
}

/** A reply's view of its parent: its author and first line, or why there is none. */
export type ReplyQuote =
  | { state: "shown"; user: Reactor; snippet: string }
  /** The parent was deleted. */
  | { state: "deleted" }
  /** The parent is no longer stored (retention). */
  | { state: "gone" };

/** What an event does to its target message. */
export type EventOp =
  | { kind: "edit"; target: number; text?: string }
  | { kind: "delete"; target: number; by: DeleteBy }
  | { kind: "react"; target: number; emoji: string; on: boolean };

/**
 * A stored event other than a message: it shares the room's gapless `seq`
 * with messages and changes an earlier message (its `target`). An `edit`
 * read back from the store carries the target's current text, or none once
 * the target is deleted or gone (the text of a deleted message is not kept).
 */
export type RoomEvent = EventOp & {
  seq: number;
  room: string;
  /** Who did it. */
  user: ChatUser;
  /** Milliseconds since the Unix epoch, server clock. */
  ts: number;
  /** The actor's idempotency key. */
  clientId: string;
};

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

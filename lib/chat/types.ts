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

/** Who can find a room: `public` is listed in the lobby, `unlisted` is reachable by name, `private` only by its members. */
export type RoomVisibility = "public" | "unlisted" | "private";

/** Who may post in a room: anyone who may enter, signed-in (Google) users only, or its members only. */
export type PostPolicy = "everyone" | "signed_in" | "members";

/**
 * A person's role in a room, strongest first. The owner is one person (kept
 * on the room); moderators and members are memberships.
 */
export type RoomRole = "owner" | "moderator" | "member";

/** What the owner (and moderators) set for a room. */
export interface RoomSettings {
  /** Shown instead of the name when set ("" = none). */
  title: string;
  /** One line under the title ("" = none). */
  topic: string;
  visibility: RoomVisibility;
  postPolicy: PostPolicy;
  /** One message per this many seconds per person (0 = off). */
  slowModeSeconds: number;
  /** Whether guests may post here (they may always read a room they can reach). */
  guestsAllowed: boolean;
}

/** A room's stored record: its owner (none until claimed) and settings. */
export interface RoomInfo {
  room: string;
  owner: Reactor | null;
  settings: RoomSettings;
  /** Milliseconds since the epoch. */
  created: number;
  updated: number;
}

/** A role given to someone in a room (the owner's is on {@link RoomInfo}). */
export interface Membership {
  user: Reactor;
  role: Exclude<RoomRole, "owner">;
  since: number;
}

/** A mute (may read, not post) or a ban (may not enter), until a time or for good. */
export interface Sanction {
  kind: "mute" | "ban";
  user: Reactor;
  /** Ms since the epoch; null = until lifted. */
  until: number | null;
  reason?: string;
  by: Reactor;
  ts: number;
  /**
   * For a guest's ban when per-address limits are on: the address it came
   * from, refused too (a guest can always make a new guest id).
   */
  address?: string;
}

/** Where a person stands in a room: their role and any mute or ban in force. */
export interface Standing {
  /** The role they act with: none while their own ban is in force. */
  role: RoomRole | null;
  /**
   * The membership's role while their own ban suspends it (absent
   * otherwise): what a moderator must outrank to act on them, and what comes
   * back when the ban ends (see `heldRole`).
   */
  held?: RoomRole;
  mute: Sanction | null;
  ban: Sanction | null;
}

/** A report of a message, by someone in the room, for its moderators. */
export interface MessageReport {
  target: number;
  reporter: Reactor;
  reason?: string;
  ts: number;
}

/** What a moderation action did (one audit entry each). */
export type AuditAction =
  | "create"
  | "claim"
  | "settings"
  | "role"
  | "transfer"
  | "delete"
  | "mute"
  | "unmute"
  | "kick"
  | "ban"
  | "unban"
  | "dismiss"
  /** An invite link made (detail: its limits) or revoked. */
  | "invite"
  | "revoke_invite"
  /** Someone joined by an invite link (the actor), or was added by name (the subject). */
  | "join"
  | "add";

/** One line of a room's audit log: who did what to whom, when, and why if given. */
export interface AuditEntry {
  /** Sorts by time (newest last); pages are asked for `before` an id. */
  id: string;
  ts: number;
  actor: Reactor;
  action: AuditAction;
  /** The person acted on. */
  subject?: Reactor;
  /** The message acted on. */
  target?: number;
  reason?: string;
  /** A short machine-made detail ("role: moderator", "10 min"). */
  detail?: string;
}

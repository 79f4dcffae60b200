/**
 * Storage contracts for getting into rooms, beside the room store
 * (`RoomStore` in `types.ts`): invite links, direct conversations with
 * their read markers, and the directory of people known by name. Each has
 * one contract suite every backend passes (`tests/store/invites_test.ts`,
 * `directs_test.ts`, `directory_test.ts`).
 *
 * @module
 */

import type { ChatUser, Reactor } from "../chat/types.ts";

/** An invite link's stored record. */
export interface Invite {
  /** The link's secret: 128 random bits, base64url. */
  token: string;
  room: string;
  /** Who made it (an owner or moderator). */
  by: Reactor;
  /** Ms since the epoch. */
  created: number;
  /** After this (ms since the epoch) the link is refused. */
  expires: number;
  /** How many people may join with it. */
  maxUses: number;
  uses: number;
  /** Set when an owner or moderator revoked it. */
  revoked?: { by: Reactor; ts: number };
}

/** Why an invite link is refused. */
export type InviteRefusal = "not_found" | "expired" | "used_up" | "revoked";

/** Result of {@link InviteStore.redeem}. */
export type RedeemResult =
  | { ok: true; invite: Invite }
  | { ok: false; reason: InviteRefusal; invite?: Invite };

/**
 * Invite links: each an unguessable token with an expiry, a use count and a
 * revocation, counted atomically across instances.
 */
export interface InviteStore {
  /** Stores a new invite (the caller made the token). */
  create(invite: Invite): Promise<void>;
  /** The invite, whatever its state; null when unknown (or long expired). */
  get(token: string): Promise<Invite | null>;
  /** The room's invites still usable at `now` (not expired, used up or revoked), newest first, up to `limit`. */
  list(room: string, limit: number, now?: number): Promise<Invite[]>;
  /**
   * Revokes the room's invite `token`: `revoked` now, `already` (revoked
   * before: nothing changed), or `unknown` when the room has no such invite.
   */
  revoke(
    room: string,
    token: string,
    by: Reactor,
    now?: number,
  ): Promise<"revoked" | "already" | "unknown">;
  /** Takes one use of `token` if it is usable at `now` (atomic: never more than `maxUses`). */
  redeem(token: string, now?: number): Promise<RedeemResult>;
}

/** One of a person's direct conversations. */
export interface Conversation {
  room: string;
  /** The other person. */
  with: Reactor;
  /** When it was first opened, ms since the epoch. */
  since: number;
}

/**
 * Direct conversations per person and how far each person has read each
 * room (the highest `seq` they saw).
 */
export interface DirectStore {
  /** Records the conversation `room` between `a` and `b` for both (idempotent: keeps `since`). */
  link(room: string, a: Reactor, b: Reactor, now?: number): Promise<void>;
  /** `userId`'s conversations, up to `limit`. */
  conversations(userId: string, limit: number): Promise<Conversation[]>;
  /** Moves `userId`'s read marker in `room` up to `seq` (never down). */
  markRead(userId: string, room: string, seq: number): Promise<void>;
  /** `userId`'s read markers in `rooms` (0 where none), in the order asked. */
  lastRead(userId: string, rooms: readonly string[]): Promise<number[]>;
}

/**
 * People known by name: whoever signed in (guest or Google) while their
 * session could still be alive, so "add by name" and direct messages can
 * resolve a person without trusting what a browser says about them.
 */
export interface DirectoryStore {
  /** Remembers `user` for `ttlMs` (a later call refreshes it). */
  remember(user: ChatUser, ttlMs: number): Promise<void>;
  /** The person with this id, if known. */
  byId(id: string): Promise<ChatUser | null>;
  /** People whose display name is `name` (case-insensitive), up to `limit`. */
  byName(name: string, limit: number): Promise<ChatUser[]>;
}

/**
 * The storage contracts: what the app keeps (history, presence, users,
 * revoked sessions, generated secrets) and the one bundle that owns them. Deno KV implements
 * them today (`kv_stores.ts`); another backend implements these interfaces,
 * adds its name to {@link STORE_KINDS} and one line to `createStore`
 * (`stores.ts`), and nothing outside `lib/store/` changes.
 *
 * @module
 */

import type { Refusal } from "../chat/protocol.ts";
import type {
  DirectoryStore,
  DirectStore,
  InviteStore,
} from "./access_types.ts";
import type {
  AuditEntry,
  ChatMessage,
  ChatUser,
  EventOp,
  Membership,
  MessageReport,
  Reactor,
  RoomEvent,
  RoomInfo,
  RoomSettings,
  Sanction,
  Standing,
} from "../chat/types.ts";

/** What a sender supplies; the store adds `id`, `seq` and `ts`. */
export interface MessageDraft {
  room: string;
  user: ChatUser;
  text: string;
  clientId: string;
  /** The `seq` of the message replied to. */
  replyTo?: number;
}

/** An edit, delete or reaction as its actor asks for it; the store adds `seq` and `ts`. */
export interface EventDraft {
  room: string;
  user: ChatUser;
  clientId: string;
  op: EventOp;
  /** How long after a message its author may edit it (default: `DEFAULT_EDIT_WINDOW_MS`). */
  editWindowMs?: number;
  /**
   * The actor moderates this room (the caller checked its roles): a
   * `delete` `by: "moderator"` may remove anyone's message.
   */
  moderator?: boolean;
}

/** Result of {@link MessageStore.applyEvent}: the stored event, or why it was refused. */
export type EventResult =
  | {
    ok: true;
    event: RoomEvent;
    /** True when `clientId` was seen before: the stored event is returned, nothing is written. */
    duplicate: boolean;
  }
  | Refusal;

/** The log after a `seq`: messages (folded up to their `rev`) and events, both in `seq` order. */
export interface LogPage {
  messages: ChatMessage[];
  events: RoomEvent[];
  /** More entries follow this page. */
  hasMore: boolean;
}

/** Result of {@link MessageStore.append}. */
export interface AppendResult {
  message: ChatMessage;
  /** True when `clientId` was seen before: the stored message is returned, nothing is written. */
  duplicate: boolean;
}

/** A page of messages in ascending `seq` order. */
export interface MessagePage {
  messages: ChatMessage[];
  /** More messages exist beyond this page in the direction asked. */
  hasMore: boolean;
}

/** A room that has messages, for the lobby. */
export interface RoomSummary {
  room: string;
  lastSeq: number;
  lastTs: number;
}

/**
 * Storage of chat history: the source of truth. A message is stored (and
 * given the room's next `seq`) before it is broadcast; clients fill any gap
 * from here.
 */
export interface MessageStore {
  /** Stores a message with the room's next `seq`; idempotent on `clientId` per sender. */
  append(draft: MessageDraft): Promise<AppendResult>;
  /**
   * Checks an edit, delete or reaction against its target (see
   * `checkEvent`), folds it into the target and appends it with the room's
   * next `seq`, in one atomic write; idempotent on `clientId` per actor. A
   * delete erases the target's text from storage.
   */
  applyEvent(draft: EventDraft): Promise<EventResult>;
  /** The log after `after` (what `resume` answers): up to `limit` messages and events in all. */
  since(room: string, after: number, limit: number): Promise<LogPage>;
  /** One message, folded, or null when there is none at `seq`. */
  get(room: string, seq: number): Promise<ChatMessage | null>;
  /** The newest `limit` messages. */
  recent(room: string, limit: number): Promise<MessagePage>;
  /** Up to `limit` messages with `seq < before`, the newest of them. */
  before(room: string, before: number, limit: number): Promise<MessagePage>;
  /** Up to `limit` messages with `seq > after`, the oldest of them. */
  after(room: string, after: number, limit: number): Promise<MessagePage>;
  /** The room's last `seq` (0 when empty). */
  lastSeq(room: string): Promise<number>;
  /**
   * How many messages with `seq > after` the room holds, not counting
   * deleted ones nor events (edits, deletes, reactions), up to `max`: what
   * an unread count counts.
   */
  countAfter(room: string, after: number, max: number): Promise<number>;
  /** The `limit` most recently active rooms, newest first (an index: the cost does not grow with the number of rooms). */
  rooms(limit: number): Promise<RoomSummary[]>;
  /** The summaries of those of `rooms` that have messages, in the order asked. */
  summaries(rooms: readonly string[]): Promise<RoomSummary[]>;
  /**
   * Deletes now what retention no longer keeps (a message beyond the room's
   * last `historyRetention` AND older than `historyMinAgeDays`) in rooms this
   * store appended to; returns how many. Also runs by itself in the
   * background after appends.
   */
  prune(): Promise<number>;
  /** Whether the backing store answers. */
  ping(): Promise<boolean>;
}

/** An instance that has not beaten for this long is dead (its connections are ghosts). */
export const PRESENCE_TTL_MS = 15_000;

/** One connection in a room, and the instance that holds it. */
export interface PresenceRecord {
  room: string;
  conn: string;
  user: ChatUser;
  since: number;
  instance: string;
}

/**
 * Who is connected, shared by every instance. Each instance beats; a
 * connection whose instance stopped beating for {@link PRESENCE_TTL_MS} is a
 * ghost: it is left out of every read, and a read that finds it deletes it.
 */
export interface PresenceStore {
  /** Marks `instance` alive for another {@link PRESENCE_TTL_MS}. */
  heartbeat(instance: string, now?: number): Promise<void>;
  /** Marks `instance` gone (a graceful stop): its connections are ghosts at once. */
  retire(instance: string): Promise<void>;
  /** Records one connection. */
  track(record: PresenceRecord): Promise<void>;
  /** Forgets one connection. */
  untrack(room: string, conn: string): Promise<void>;
  /** Forgets many connections of one room (a dead instance's). */
  untrackMany(room: string, conns: readonly string[]): Promise<void>;
  /**
   * Forgets many connections of any rooms (a stopping instance's own), in as
   * few writes as the store allows; each after any write of its key made
   * before.
   */
  untrackAll(
    connections: readonly Pick<PresenceRecord, "room" | "conn">[],
  ): Promise<void>;
  /** Which of the instances `ids` are alive. */
  liveInstances(ids: Iterable<string>, now?: number): Promise<Set<string>>;
  /** The room's connections held by live instances (ghosts found are deleted). */
  room(room: string, now?: number): Promise<PresenceRecord[]>;
  /** Distinct live users per room, across all rooms (for the lobby); reads at most `limit` connections (ghosts found are deleted). */
  counts(limit: number, now?: number): Promise<Map<string, number>>;
}

/** What we keep about a Google user. */
export interface StoredUser {
  sub: string;
  name: string;
  email: string;
  picture?: string;
  /** Workspace domain, when Google says there is one. */
  hd?: string;
  /** Milliseconds since the epoch. */
  firstSeen: number;
  lastSeen: number;
}

/** The profile a sign-in presents. */
export type UserProfile = Omit<StoredUser, "firstSeen" | "lastSeen">;

/**
 * Signed-in users, keyed by their provider's stable subject (Google `sub`),
 * never by email: an address can change owner, a `sub` cannot.
 */
export interface UserStore {
  /** Creates or refreshes the user; keeps `firstSeen`. */
  upsertGoogle(profile: UserProfile, now?: number): Promise<StoredUser>;
  getGoogle(sub: string): Promise<StoredUser | null>;
}

/**
 * Signed-out sessions, seen by every instance. An entry need live only as
 * long as the token it revokes could.
 */
export interface RevocationStore {
  /** Revokes `sid` until `expiresAt` (ms since the epoch), when the token dies anyway. */
  revoke(sid: string, expiresAt: number): Promise<void>;
  /** Which of `sids` are revoked. */
  revokedAmong(sids: readonly string[]): Promise<Set<string>>;
  /**
   * A value that changes with every revocation on any instance (null before
   * the first): whoever holds many sessions asks {@link revokedAmong} about
   * all of them only when it changed (`ConnectionRegistry.enforceSessions`).
   */
  generation(): Promise<string | null>;
}

/** Result of {@link SecretStore.keep}. */
export interface KeptSecret {
  /** The value every caller on this database gets. */
  value: string;
  /** True when this call stored its candidate (the first on this database). */
  created: boolean;
}

/**
 * Values generated once and then kept with the data, such as the development
 * session key: whoever asks first stores its candidate, everyone after gets
 * that one.
 */
export interface SecretStore {
  /**
   * The value kept under `name`, storing `candidate` first if there is none.
   * Atomic: concurrent callers on one database (workers, processes) all get
   * the same value.
   */
  keep(name: string, candidate: string): Promise<KeptSecret>;
}

/**
 * One signed chunk of the sessions a stopping process had verified
 * (`SessionSigner.exportRemembered`): the data, and its MAC by the session
 * key, without which the next process ignores it.
 */
export interface HandoverChunk {
  data: string;
  mac: string;
}

/**
 * What a stopping process leaves the processes that start after it on the
 * same database: the sessions it had verified, so the reconnects of a
 * restart need no signature check each (`lib/auth/session.ts`).
 */
export interface HandoverStore {
  /** Leaves `chunks` (each at most {@link MAX_HANDOVER_CHUNK_CHARS} of data) for `ttlMs`. */
  leave(chunks: readonly HandoverChunk[], ttlMs: number): Promise<void>;
  /** The chunks left and not expired, at most {@link MAX_HANDOVER_CHUNKS}, any order. */
  collect(): Promise<HandoverChunk[]>;
}

/**
 * Longest data of one handover chunk, in characters: under Deno KV's 64 KiB
 * value limit with its MAC even when every character takes two bytes (V8
 * keeps a string with any character past U+00FF, a CJK name or an emoji, as
 * UTF-16 throughout, and KV stores it so).
 */
export const MAX_HANDOVER_CHUNK_CHARS = 30_000;
/**
 * Most handover chunks read at a start: 15 M characters, ~60,000–120,000
 * sessions (125–250 characters each, a Google picture's URL the most).
 */
export const MAX_HANDOVER_CHUNKS = 500;

/** Result of {@link RoomStore.create}: the room's record, and whether this call made it. */
export interface CreatedRoom {
  info: RoomInfo;
  created: boolean;
}

/** Result of {@link RoomStore.access}. */
export interface RoomAccess {
  info: RoomInfo | null;
  standing: Standing;
}

/** A page of a room's audit log, newest first. */
export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `before` for the next (older) page; absent on the last. */
  next?: string;
}

/**
 * Rooms people run: each room's record (owner, settings), roles, mutes and
 * bans, slow-mode slots, reports and the audit log. A room with no record
 * is an ownerless public room with the default settings. Every write is
 * visible to every instance at once (the store is the truth: what an
 * implementation holds in memory is checked against it at each ask).
 */
export interface RoomStore {
  /** The room's record, or null when it has none (ownerless, defaults). */
  get(room: string): Promise<RoomInfo | null>;
  /** The records of `rooms`, in their order (null where none): batched reads, for the lobby. */
  getMany(rooms: readonly string[]): Promise<(RoomInfo | null)[]>;
  /** Makes the room's record with `owner` unless it has one; atomic (one winner). */
  create(
    room: string,
    owner: Reactor | null,
    settings: RoomSettings,
    now?: number,
  ): Promise<CreatedRoom>;
  /** Makes `owner` the owner of an ownerless room; null when it already has another owner. */
  claim(
    room: string,
    owner: Reactor,
    settings: RoomSettings,
    now?: number,
  ): Promise<RoomInfo | null>;
  /** Replaces the settings (making an ownerless record if there is none). */
  updateSettings(
    room: string,
    settings: RoomSettings,
    now?: number,
  ): Promise<RoomInfo>;
  /**
   * Hands the room to `to`: they become the owner (their membership goes),
   * the previous owner becomes a moderator. Null when the room has no record.
   */
  transfer(room: string, to: Reactor, now?: number): Promise<RoomInfo | null>;
  /** Gives `user` a role (moderator or member), or takes it away (null). */
  setRole(
    room: string,
    user: Reactor,
    role: Membership["role"] | null,
    now?: number,
  ): Promise<void>;
  /** The room's memberships (moderators and members), up to `limit`. */
  members(room: string, limit: number): Promise<Membership[]>;
  /**
   * Where `userId` (coming from `address`, if known) stands: their role and
   * the mute and ban in force at `now` (a ban of the address counts), as
   * {@link RoomStore.access} reads them.
   */
  standing(
    room: string,
    userId: string,
    address?: string,
    now?: number,
  ): Promise<Standing>;
  /**
   * The room's record (null: none) and where `userId` stands, as of one
   * read begun after this call (callers asking about a room at the same
   * time may share it): what posting and joining ask.
   */
  access(
    room: string,
    userId: string,
    address?: string,
    now?: number,
  ): Promise<RoomAccess>;
  /** Stores a mute or ban of `sanction.user` (replacing one of the same kind). */
  sanction(room: string, sanction: Sanction): Promise<void>;
  /** Lifts the mute or ban of `userId`; false when there was none. */
  lift(room: string, kind: Sanction["kind"], userId: string): Promise<boolean>;
  /** The mutes or bans in force at `now`, up to `limit`. */
  sanctions(
    room: string,
    kind: Sanction["kind"],
    limit: number,
    now?: number,
  ): Promise<Sanction[]>;
  /**
   * Slow mode: takes `userId`'s slot for the next `seconds` if it is free
   * (returns 0), else returns the ms until it is. Atomic across instances.
   */
  takeSlot(
    room: string,
    userId: string,
    seconds: number,
    now?: number,
  ): Promise<number>;
  /** Records a report (one per reporter and message; a repeat replaces it). */
  report(room: string, report: MessageReport): Promise<void>;
  /** Open reports, by message then reporter, up to `limit`. */
  reports(room: string, limit: number): Promise<MessageReport[]>;
  /** Closes every report of message `target`; returns how many. */
  dismissReports(room: string, target: number): Promise<number>;
  /** Appends to the audit log (the store gives the id). */
  audit(room: string, entry: Omit<AuditEntry, "id">): Promise<AuditEntry>;
  /** Up to `limit` audit entries older than `before` (an id), newest first. */
  auditPage(
    room: string,
    before: string | undefined,
    limit: number,
  ): Promise<AuditPage>;
}

/** Names of the storage backends, as `STORE` takes them. */
export const STORE_KINDS = ["kv"] as const;
/** One of {@link STORE_KINDS}. */
export type StoreKind = typeof STORE_KINDS[number];

/** What `createStore` needs: the backend, where it keeps its data, how much history. */
export interface StoreOptions {
  /** The backend. */
  store: StoreKind;
  /** Deno KV location: a file, `:memory:`, a KV Connect URL, or `undefined` for Deno Deploy's own. */
  kvPath: string | undefined;
  /** Log entries (messages, edits, deletes, reactions) kept per room, at least (see `historyMinAgeDays`). */
  historyRetention: number;
  /**
   * Days every message is kept, even beyond `historyRetention`, so a burst
   * cannot push a room's history out (default 7; 0 = by count alone).
   */
  historyMinAgeDays?: number;
}

/**
 * Every store of one backend, on one connection to its database, and the
 * one owner of that connection: {@link Stores.close} releases it, and no
 * part closes anything on its own.
 */
export interface Stores {
  readonly messages: MessageStore;
  /** Verified sessions one process leaves the next (`HandoverStore`). */
  readonly handover: HandoverStore;
  readonly presence: PresenceStore;
  readonly users: UserStore;
  readonly revocations: RevocationStore;
  readonly secrets: SecretStore;
  readonly rooms: RoomStore;
  /** Invite links to rooms (`access_types.ts`). */
  readonly invites: InviteStore;
  /** Direct conversations and read markers (`access_types.ts`). */
  readonly directs: DirectStore;
  /** People known by name, for "add by name" and direct messages (`access_types.ts`). */
  readonly directory: DirectoryStore;
  /** Releases the database; every part stops working. Idempotent. */
  close(): Promise<void>;
}

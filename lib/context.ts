/**
 * What every route sees: the app's services and the request's user, as Hono
 * context variables.
 *
 * @module
 */

import type { AppConfig } from "./config.ts";
import type { GoogleVerifier } from "./auth/google.ts";
import type { Session, SessionSigner } from "./auth/session.ts";
import type { ConnectionRegistry, ConsumerLimits } from "./chat/consumer.ts";
import type { ChannelLayer } from "./chat/layer.ts";
import type { PostingPolicy, PostOrder } from "./chat/post.ts";
import type { PresenceTracker } from "./chat/presence_tracker.ts";
import type { Lobby } from "./chat/lobby.ts";
import type { ChatUser } from "./chat/types.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { Budgets } from "./chat/budgets.ts";
import type { ClientInfo, TrustedProxies } from "./web/client_address.ts";
import type {
  HandoverStore,
  MessageStore,
  RevocationStore,
  RoomStore,
  UserStore,
} from "./store/types.ts";
import type {
  DirectoryStore,
  DirectStore,
  InviteStore,
} from "./store/access_types.ts";
import type { Assets } from "./web/build.ts";

/** Long-lived parts of one running instance. */
export interface Services {
  config: AppConfig;
  layer: ChannelLayer;
  store: MessageStore;
  /** Room records, roles, mutes, bans, slow mode, reports, audit log. */
  rooms: RoomStore;
  /** Bind a guest's ban to their address too: on when per-address limits are (`GUESTS_PER_IP_PER_HOUR` > 0). */
  bindGuestAddresses: boolean;
  users: UserStore;
  /** Invite links to rooms. */
  invites: InviteStore;
  /** Direct conversations and read markers. */
  directs: DirectStore;
  /** People known by name (signed in within a session's lifetime). */
  directory: DirectoryStore;
  sessions: SessionSigner;
  /** Where a stopping instance leaves its verified sessions for the next. */
  handover: HandoverStore;
  /** Signed-out sessions, seen by every instance. */
  revocations: RevocationStore;
  /** Present when `GOOGLE_CLIENT_ID` is set. */
  google: GoogleVerifier | null;
  connections: ConnectionRegistry;
  /** This instance's presence bookkeeping. */
  presence: PresenceTracker;
  /** Lobby snapshots (rooms, people online). */
  lobby: Lobby;
  /** Who may post (the instance's rules). */
  posting: PostingPolicy;
  /** Keeps each person's posts in order through the room checks. */
  postOrder: PostOrder;
  /** Budgets per person, address and room, shared by sockets and HTTP routes. */
  budgets: Budgets;
  /** Proxies whose forwarded headers are believed (`TRUST_PROXY`). */
  trustedProxies: TrustedProxies;
  /** Operational counters. */
  metrics: Metrics;
  /** A person's message budget, as `welcome` tells it to clients. */
  limits: ConsumerLimits;
  log: Logger;
  assets: Assets;
  /** Absolute path of the project root (static files, build output). */
  root: string;
  /** Stops timers and releases the stores and the layer it opened. */
  close(): Promise<void>;
}

/** Per-request variables. */
export interface AppVariables {
  services: Services;
  session: Session | null;
  /**
   * When this request's session was asked about revocations
   * (`performance.now()`): a socket opened with it needs no re-check read
   * for revocations older than that (`ConnectionRegistry.enforceSessions`).
   */
  sessionCheckedAt: number;
  user: ChatUser | null;
  /** The client's address and scheme, through trusted proxies (set first, on every request). */
  client: ClientInfo;
  /** This request's id (ours, never the client's), logged and sent as `X-Request-Id`. */
  requestId: string;
  assets: Assets;
  /** Set by Hono's secureHeaders middleware; used on script tags. */
  secureHeadersNonce?: string;
}

/** The Hono environment of every route. */
export type AppEnv = { Variables: AppVariables };

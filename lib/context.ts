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
import type { PostingPolicy } from "./chat/post.ts";
import type { PresenceTracker } from "./chat/presence_tracker.ts";
import type { Lobby } from "./chat/lobby.ts";
import type { ChatUser } from "./chat/types.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { KeyedBuckets, UserBuckets } from "./chat/rate_limit.ts";
import type {
  MessageStore,
  RevocationStore,
  UserStore,
} from "./store/types.ts";
import type { Assets } from "./web/build.ts";

/** Long-lived parts of one running instance. */
export interface Services {
  config: AppConfig;
  layer: ChannelLayer;
  store: MessageStore;
  users: UserStore;
  sessions: SessionSigner;
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
  /** Per-user message buckets, shared by a user's sockets. */
  userBuckets: UserBuckets;
  /** New sockets per client address, when `CONNECTS_PER_IP_PER_MINUTE` is set. */
  connectRate: KeyedBuckets | null;
  /** History reads per person, shared by their sockets. */
  readBuckets: UserBuckets;
  /** HTTP history reads per user (or per address when signed out). */
  readRate: KeyedBuckets;
  /** HTTP message posts per user (the socket's limits, for callers without a socket). */
  postRate: KeyedBuckets;
  /** Operational counters. */
  metrics: Metrics;
  /** Flood control applied to every connection. */
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
  user: ChatUser | null;
  assets: Assets;
  /** Set by Hono's secureHeaders middleware; used on script tags. */
  secureHeadersNonce?: string;
}

/** The Hono environment of every route. */
export type AppEnv = { Variables: AppVariables };

/**
 * What every route sees: the app's services and the request's user, as Hono
 * context variables.
 *
 * @module
 */

import type { AppConfig } from "../app.config.ts";
import type { Session, SessionSigner } from "./auth/session.ts";
import type { ConnectionRegistry, ConsumerLimits } from "./chat/consumer.ts";
import type { ChannelLayer } from "./chat/layer.ts";
import type { ChatUser } from "./chat/protocol.ts";
import type { Logger } from "./log.ts";
import type { MessageStore } from "./store/messages.ts";
import type { Assets } from "./web/build.ts";

/** Long-lived parts of one running instance. */
export interface Services {
  config: AppConfig;
  layer: ChannelLayer;
  store: MessageStore;
  sessions: SessionSigner;
  connections: ConnectionRegistry;
  /** Flood control applied to every connection. */
  limits: ConsumerLimits;
  log: Logger;
  assets: Assets;
  /** Absolute path of the project root (static files, build output). */
  root: string;
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

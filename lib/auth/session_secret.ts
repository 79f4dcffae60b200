/**
 * The key that signs sessions: `SESSION_SECRET` when it is set; otherwise
 * (development only — production and Deno Deploy refuse to start without
 * it) one generated once and kept with the data, so a restart keeps everyone
 * signed in and every worker and process on the same data signs alike.
 *
 * @module
 */

import type { AuthConfig } from "../config.ts";
import type { Logger } from "../log.ts";
import type { SecretStore } from "../store/types.ts";

/** Name of the generated session key in the {@link SecretStore}. */
export const SESSION_SECRET_NAME = "session";

/**
 * The session key for `config`: `sessionSecret` itself when it was given;
 * when it was generated, the key kept under {@link SESSION_SECRET_NAME}
 * (the generated candidate becomes it if none is kept yet). Logs a warning
 * in that case, never the key.
 *
 * @example
 * ```ts
 * const secret = await sessionSecret(config, stores.secrets, log);
 * const signer = new SessionSigner(secret, { ttlSeconds: config.sessionTtlSeconds });
 * ```
 */
export async function sessionSecret(
  config: Pick<AuthConfig, "sessionSecret" | "sessionSecretGenerated">,
  secrets: SecretStore,
  log: Logger,
): Promise<string> {
  if (!config.sessionSecretGenerated) return config.sessionSecret;
  const kept = await secrets.keep(SESSION_SECRET_NAME, config.sessionSecret);
  log.warn(
    kept.created
      ? "config.session_secret_generated"
      : "config.session_secret_reused",
    {
      detail: kept.created
        ? "SESSION_SECRET is unset: generated one and stored it with the data; sessions last as long as the data does"
        : "SESSION_SECRET is unset: using the one generated earlier and stored with the data",
    },
  );
  return kept.value;
}

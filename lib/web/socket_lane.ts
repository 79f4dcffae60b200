/**
 * The chat sockets' lane through the guarded listener: a room's WebSocket
 * opened from the request head the listener parsed, without a `Request`,
 * the router or its middleware — the same checks, by the same functions
 * (`isAllowedHost`, `clientOf`, `checkSession`, `openChatSocket`), the same
 * answers and the same access line.
 *
 * Why: a restart brings every client back at once. In a 10,000-socket
 * reconnect storm's CPU profile, building the `Request` and Hono's dispatch
 * with the middleware were ~15 % of the main thread per reconnect, with
 * their garbage; over 6 interleaved storms with and without a first cut of
 * this lane, all were back in 6.2 s against 7.3 s on average, and the main
 * thread spent ~407 µs per reconnect against ~495.
 *
 * Only the plain form is taken here — `GET /ws/chat/<room>` with a room
 * name as it must be, no query or `?after=<digits>`, `Upgrade: websocket`
 * and a URL that parses — and the router gets anything else (it decodes,
 * normalises and refuses as it always did, with its headers; the route runs
 * `openChatSocket` too).
 *
 * @module
 */

import { isAllowedHost } from "../auth/origin.ts";
import { sessionTokenOf } from "../auth/cookie.ts";
import type { Services } from "../context.ts";
import type { LaneRequest, UpgradeLane } from "../net/front.ts";
import { logRequest } from "./access_log.ts";
import { openChatSocket } from "./chat_socket.ts";
import { clientOf } from "./client_address.ts";
import { routeErrorJson } from "./errors.ts";
import { checkSession } from "./session_check.ts";

/**
 * The targets the lane takes: a room segment of a room name's characters
 * (its length and form are checked after, as the route checks them: the
 * router sees the same segment, undecoded), and an optional `?after=` of
 * digits (its value is checked after, too).
 */
const CHAT_SOCKET_TARGET = /^\/ws\/chat\/([a-z0-9_-]+)(?:\?after=(\d*))?$/;

/**
 * The lane for `services`, to pass to the guarded listener
 * (`FrontOptions.upgradeLane`).
 *
 * @example
 * ```ts
 * serveApp(app.fetch, { …, upgradeLane: chatSocketLane(services) });
 * ```
 */
export function chatSocketLane(services: Services): UpgradeLane {
  return (request) => {
    if (request.method !== "GET") return null;
    const target = CHAT_SOCKET_TARGET.exec(request.target);
    if (
      !target || request.header("upgrade")?.toLowerCase() !== "websocket"
    ) return null;
    // Parsed once, here: a URL that does not parse is the router's (its 400).
    const url = URL.parse(request.url);
    if (!url) return null;
    // Refused first, before a request id or a log line (as the middleware does).
    if (!isAllowedHost(request.header("host"), services.config.allowedHosts)) {
      return Promise.resolve(routeErrorJson("bad_host"));
    }
    const started = performance.now();
    const id = crypto.randomUUID();
    const path = request.target.split("?")[0];
    return answer(services, request, url, target[1], target[2]).catch((err) => {
      // As the app's error handler answers (`createApp`).
      services.log.error("http.error", { id, path, error: String(err) });
      return routeErrorJson("internal");
    }).then((response) => {
      response.headers.set("X-Request-Id", id);
      logRequest(services.log, {
        id,
        method: request.method,
        path,
        status: response.status,
        started,
      });
      return response;
    });
  };
}

/** As the route answers it. */
async function answer(
  services: Services,
  request: LaneRequest,
  url: URL,
  room: string,
  after: string | undefined,
): Promise<Response> {
  const { header } = request;
  const { session, checkedAt } = await checkSession(
    services,
    sessionTokenOf(header("authorization"), header("cookie")),
  );
  const opened = await openChatSocket(services, {
    room,
    after,
    header,
    url,
    address: clientOf(
      request.remoteAddr.hostname,
      request.url,
      header,
      services.trustedProxies,
    ).address,
    session,
    sessionCheckedAt: checkedAt,
    upgrade: request.upgrade,
  });
  return opened.ok ? opened.response : routeErrorJson(opened.error);
}

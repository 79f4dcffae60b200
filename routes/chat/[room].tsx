import type { AppEnv, AppVariables } from "../../lib/context.ts";
import type { Handlers, PageProps } from "../../lib/web/types.ts";
import { DEFAULT_PAGE_SIZE } from "../../lib/chat/protocol.ts";
import type { ChatMessage } from "../../lib/chat/types.ts";
import {
  isDirectRoom,
  normalizeRoomName,
  suggestRoomName,
} from "../../lib/chat/names.ts";
import { mayInvite } from "../../lib/chat/access.ts";
import { moderates } from "../../lib/chat/protocol.ts";
import type { StaticActions } from "../../components/MessageParts.tsx";
import RoomInvites from "../../islands/RoomInvites.tsx";
import { canPost } from "../../lib/chat/post.ts";
import { enterRoom } from "../../lib/chat/room_gate.ts";
import { routeError } from "../../lib/web/errors.ts";
import ChatRoom from "../../islands/ChatRoom.tsx";
import SignIn from "../../islands/SignIn.tsx";
import RoomHistory from "../../islands/RoomHistory.tsx";

interface RoomData {
  room: string;
  history: ChatMessage[];
  hasMore: boolean;
  /** A reply started by the no-JS page's Reply link (`?replyTo=`). */
  replyTo: number | null;
  /**
   * Every message shows reply and delete as a link and a form (`?actions=1`,
   * for no JavaScript): for the author's own messages, or a moderator's on
   * anyone's.
   */
  staticActions: StaticActions;
  /** The owner or a moderator: the page offers invitations. */
  invites: boolean;
  /** In a direct conversation: the other person's name (the heading). */
  directWith: string | null;
}

export const title = ({ data }: PageProps<RoomData>) =>
  data.directWith ? `${data.directWith} (direct)` : `#${data.room}`;

export const handler: Handlers<AppEnv> = {
  async GET(c, render) {
    const raw = c.req.param("room") ?? "";
    const room = normalizeRoomName(raw);
    if (!room) {
      const suggestion = suggestRoomName(raw);
      return routeError(
        c,
        "bad_room",
        suggestion
          ? { href: `/chat/${suggestion}`, label: `Go to #${suggestion}` }
          : null,
      );
    }
    if (room !== raw) return c.redirect(`/chat/${room}`, 301);
    // A private room is a missing page to anyone but its members.
    const entry = await enterRoom(c.get("services").rooms, room, c.get("user"));
    if (!entry) return routeError(c, "not_found");
    const directWith = isDirectRoom(room)
      ? (await c.get("services").rooms.members(room, 3))
        .find((m) => m.user.id !== c.get("user")?.id)?.user.name ?? null
      : null;
    const page = await c.get("services").store.recent(room, DEFAULT_PAGE_SIZE);
    const replyTo = Number(c.req.query("replyTo"));
    return render(
      {
        room,
        history: page.messages,
        hasMore: page.hasMore,
        replyTo: Number.isSafeInteger(replyTo) && replyTo > 0 ? replyTo : null,
        staticActions: c.req.query("actions") !== "1"
          ? "off"
          : moderates(entry.role)
          ? "moderator"
          : "author",
        invites: mayInvite(entry.role),
        directWith,
      } satisfies RoomData,
    );
  },
};

export default function RoomPage(
  { data, state, url }: PageProps<RoomData, AppVariables>,
) {
  const { user, services } = state;
  return (
    <main class="room-page">
      <header class="room-header border-bottom px-3 py-2 d-flex align-items-center gap-2">
        <a
          href="/"
          class="btn btn-sm btn-link px-1"
          aria-label="Back to the lobby"
        >
          <i class="bi bi-arrow-left" aria-hidden="true"></i>
        </a>
        <h1 class="h5 mb-0 text-truncate" data-testid="room-title">
          {data.directWith
            ? (
              <>
                <i class="bi bi-person-fill me-1" aria-hidden="true"></i>
                {data.directWith}
                <span class="visually-hidden">(direct conversation)</span>
              </>
            )
            : `#${data.room}`}
        </h1>
        {user && data.invites && <RoomInvites room={data.room} />}
        {user && (
          <noscript>
            <a
              class="small ms-auto"
              href={`/chat/${data.room}?actions=${
                data.staticActions === "off" ? "1" : "0"
              }`}
            >
              {data.staticActions === "off"
                ? "Reply or delete"
                : "Hide message actions"}
            </a>
          </noscript>
        )}
      </header>
      {user
        ? (
          <ChatRoom
            room={data.room}
            user={user}
            history={data.history}
            hasMore={data.hasMore}
            canPost={canPost(user, services.posting)}
            allowGuests={services.config.allowGuests}
            googleClientId={services.config.googleClientIds[0] ?? null}
            replyTo={data.replyTo}
            staticActions={data.staticActions}
            editWindowMs={services.config.editWindowMinutes * 60_000}
          />
        )
        : (
          <div class="room-body">
            <RoomHistory room={data.room} messages={data.history} />
            <div class="composer border-top p-3">
              <SignIn
                next={url.pathname}
                allowGuests={services.config.allowGuests}
                googleClientId={services.config.googleClientIds[0] ?? null}
              />
            </div>
          </div>
        )}
    </main>
  );
}

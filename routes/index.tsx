import type { AppEnv, AppVariables } from "../lib/context.ts";
import type { LobbyRoom } from "../lib/chat/types.ts";
import RoomList from "../islands/RoomList.tsx";
import Conversations from "../islands/Conversations.tsx";
import { conversationsOf, type ConversationView } from "../lib/chat/direct.ts";
import type { Handlers, PageProps } from "../lib/web/types.ts";
import SignIn from "../islands/SignIn.tsx";
import JoinRoom from "../islands/JoinRoom.tsx";
import { ROUTE_ERRORS } from "../lib/web/errors.ts";

interface LobbyData {
  rooms: LobbyRoom[];
  /** The room name `/chat` refused (`?error=room&room=…`), or null. */
  refused: string | null;
  /** A Google user's direct conversations (null for guests and signed out). */
  conversations: ConversationView[] | null;
}

export const title = "Lobby";

export const handler: Handlers<AppEnv> = {
  async GET(c, render) {
    const services = c.get("services");
    const user = c.get("user");
    const [rooms, conversations] = await Promise.all([
      services.lobby.rooms(),
      user?.kind === "google" ? conversationsOf(services, user.id) : null,
    ]);
    const refused = c.req.query("error") === "room"
      ? (c.req.query("room") ?? "").slice(0, 256)
      : null;
    return render({ rooms, refused, conversations } satisfies LobbyData);
  },
};

export default function Lobby(
  { data, state }: PageProps<LobbyData, AppVariables>,
) {
  const { user, services } = state;
  return (
    <main class="container py-4 lobby">
      <div class="row justify-content-center">
        <div class="col-lg-6 col-md-8">
          <h1 class="h3 mb-3">Chat rooms, live</h1>
          <div class="card mb-4">
            <div class="card-body">
              {user
                ? (
                  <p class="mb-3">
                    Signed in as <strong>{user.name}</strong>.
                  </p>
                )
                : (
                  <div class="mb-3">
                    <SignIn
                      next="/"
                      allowGuests={services.config.allowGuests}
                      googleClientId={services.config.googleClientIds[0] ??
                        null}
                    />
                  </div>
                )}
              <JoinRoom
                initial={data.refused ?? ""}
                invalidMessage={ROUTE_ERRORS.bad_room.message}
                refused={data.refused !== null}
              />
            </div>
          </div>
          {data.conversations && (
            <>
              <h2 class="h5" id="direct-messages">Direct messages</h2>
              <Conversations conversations={data.conversations} />
            </>
          )}
          {user?.kind === "guest" && (
            <p class="small text-body-secondary" data-testid="dm-guests">
              Direct messages need a Google sign-in: a guest's name lasts only
              as long as this browser's session, so a conversation could not be
              found again.
            </p>
          )}
          <h2 class="h5">Active rooms</h2>
          <RoomList rooms={data.rooms} />
        </div>
      </div>
    </main>
  );
}

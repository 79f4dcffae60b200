import type { AppEnv, AppVariables } from "../lib/context.ts";
import type { LobbyRoom } from "../lib/chat/types.ts";
import RoomList from "../islands/RoomList.tsx";
import Conversations from "../islands/Conversations.tsx";
import { conversationsOf, type ConversationView } from "../lib/chat/direct.ts";
import type { Handlers, PageProps } from "../lib/web/types.ts";
import SignIn from "../islands/SignIn.tsx";
import { MAX_ROOM_CHARS } from "../lib/chat/names.ts";

interface LobbyData {
  rooms: LobbyRoom[];
  /** A Google user's direct conversations (null for guests and signed out). */
  conversations: ConversationView[] | null;
  error: string | null;
}

export const title = "Lobby";

export const handler: Handlers<AppEnv> = {
  async GET(c, render) {
    const { services, user } = c.var;
    const [rooms, conversations] = await Promise.all([
      services.lobby.rooms(),
      user?.kind === "google" ? conversationsOf(services, user.id) : null,
    ]);
    const error = c.req.query("error") === "room"
      ? "Room names are 1–64 letters, digits, '-' or '_'."
      : null;
    return render({ rooms, conversations, error } satisfies LobbyData);
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
              <form method="get" action="/chat" class="join-room">
                <label for="room-name" class="form-label">Room</label>
                <div class="input-group">
                  <span class="input-group-text">#</span>
                  <input
                    id="room-name"
                    name="room"
                    class={`form-control ${data.error ? "is-invalid" : ""}`}
                    required
                    maxLength={MAX_ROOM_CHARS}
                    pattern="[A-Za-z0-9 _\-]+"
                    placeholder="general"
                  />
                  <button type="submit" class="btn btn-success">
                    Join
                  </button>
                </div>
                {data.error && (
                  <div class="invalid-feedback d-block">{data.error}</div>
                )}
              </form>
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

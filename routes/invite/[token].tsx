import type { Context } from "hono";
import { fromAllowedOrigin } from "../../lib/web/same_origin.ts";
import type { AppEnv, AppVariables } from "../../lib/context.ts";
import type { Handlers, PageProps } from "../../lib/web/types.ts";
import { mayJoin } from "../../lib/chat/access.ts";
import { tellStanding } from "../../lib/chat/moderation.ts";
import { enterRoom } from "../../lib/chat/room_gate.ts";
import { INVITE_REFUSALS, isInviteToken } from "../../lib/chat/invites.ts";
import { inviteRefusal } from "../../lib/store/invites.ts";
import SignIn from "../../islands/SignIn.tsx";

/** What the invite page shows: a refusal, whom the link invites to sign in first (signed out), or the room to confirm joining. */
type InviteData =
  | { state: "refused"; reason: keyof typeof INVITE_REFUSALS }
  | { state: "sign-in"; room: string; guests: boolean }
  | { state: "confirm"; room: string; by: string };

export const title = ({ data }: PageProps<InviteData>) =>
  data.state === "refused" ? "Invitation refused" : `Join #${data.room}`;

type Render = (
  data: InviteData,
  init?: { status: number },
) => Response | Promise<Response>;

/**
 * The invite link's answer. Signed in: the page that asks to join
 * (`commit` false), or with `commit` the join itself — one use of the link,
 * the membership, and a redirect to the room; someone who can already enter
 * (a member, an open room) is only sent there, taking no use. Signed out:
 * the offer to sign in, coming back here. A link that is unknown, expired,
 * used up or revoked — or a guest where the room takes none, or a banned
 * person — gets a page that says so.
 */
async function answer(
  c: Context<AppEnv>,
  render: Render,
  commit: boolean,
): Promise<Response> {
  const services = c.get("services");
  const user = c.get("user");
  const token = c.req.param("token") ?? "";
  const refuse = (reason: keyof typeof INVITE_REFUSALS) =>
    render({ state: "refused", reason } satisfies InviteData, {
      status: INVITE_REFUSALS[reason].status,
    });
  if (!isInviteToken(token)) return refuse("not_found");
  const invite = await services.invites.get(token);
  if (!invite) return refuse("not_found");
  const { room } = invite;
  if (user && await enterRoom(services.rooms, room, user)) {
    return c.redirect(`/chat/${room}`, 303);
  }
  const now = Date.now();
  const unusable = inviteRefusal(invite, now);
  if (unusable) return refuse(unusable);
  const info = await services.rooms.get(room);
  if (!user) {
    return render(
      {
        state: "sign-in",
        room,
        guests: services.config.allowGuests &&
          (info?.settings.guestsAllowed ?? true),
      } satisfies InviteData,
    );
  }
  if (!mayJoin(info, user)) return refuse("guests");
  const standing = await services.rooms.standing(
    room,
    user.id,
    c.get("client").address,
    now,
  );
  if (standing.ban) return refuse("banned");
  if (!commit) {
    return render(
      { state: "confirm", room, by: invite.by.name } satisfies InviteData,
    );
  }
  const redeemed = await services.invites.redeem(token, now);
  if (!redeemed.ok) return refuse(redeemed.reason);
  const joiner = { id: user.id, name: user.name };
  await services.rooms.setRole(room, joiner, "member");
  await tellStanding(services, room, joiner.id);
  await services.rooms.audit(room, {
    ts: now,
    actor: joiner,
    action: "join",
    detail: `invite by ${invite.by.name}`,
  });
  services.log.info("invite.redeemed", { room, user: user.id });
  return c.redirect(`/chat/${room}`, 303);
}

/**
 * `GET /invite/:token`: see {@link answer}; signed in, asks to join (a
 * button). Joining is a `POST` from this page, never the link itself: a link
 * opened from another site (a top-level navigation carries the Lax session
 * cookie) made its visitor a member of a room they never chose.
 * `POST /invite/:token`: the join, from this origin only (`Origin`, as the
 * API's CSRF check).
 */
export const handler: Handlers<AppEnv> = {
  GET: (c, render) => answer(c, render, false),
  POST(c, render) {
    if (!fromAllowedOrigin(c)) {
      return render(
        { state: "refused", reason: "cross_site" } satisfies InviteData,
        { status: INVITE_REFUSALS.cross_site.status },
      );
    }
    return answer(c, render, true);
  },
};

export default function InvitePage(
  { data, url, state }: PageProps<InviteData, AppVariables>,
) {
  const { services } = state;
  return (
    <main class="container py-4">
      <div class="row justify-content-center">
        <div class="col-lg-6 col-md-8">
          {data.state === "refused"
            ? (
              <div class="card" data-testid="invite-refused">
                <div class="card-body">
                  <h1 class="h4">This invitation cannot be used</h1>
                  <p class="mb-3" data-reason={data.reason}>
                    {INVITE_REFUSALS[data.reason].message}
                  </p>
                  <a class="btn btn-primary" href="/">Go to the lobby</a>
                </div>
              </div>
            )
            : data.state === "confirm"
            ? (
              <div class="card" data-testid="invite-confirm">
                <div class="card-body">
                  <h1 class="h4">You are invited to #{data.room}</h1>
                  <p>{data.by} invited you to join this room as a member.</p>
                  <form method="post">
                    <button type="submit" class="btn btn-primary">
                      Join #{data.room}
                    </button>{" "}
                    <a class="btn btn-outline-secondary" href="/">
                      Not now
                    </a>
                  </form>
                </div>
              </div>
            )
            : (
              <div class="card" data-testid="invite-sign-in">
                <div class="card-body">
                  <h1 class="h4">You are invited to #{data.room}</h1>
                  <p>
                    Sign in to join. You will be taken to the room once you are
                    in.
                  </p>
                  <SignIn
                    next={url.pathname}
                    allowGuests={data.guests}
                    googleClientId={services.config.googleClientIds[0] ??
                      null}
                  />
                </div>
              </div>
            )}
        </div>
      </div>
    </main>
  );
}

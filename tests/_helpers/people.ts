/**
 * People for room tests: Google users (sessions minted with the test
 * secret, as if they had signed in), their sockets, and JSON calls to the
 * API with the Origin the CSRF check wants.
 */
import { SESSION_COOKIE, SessionSigner } from "../../lib/auth/session.ts";
import type { ChatUser } from "../../lib/chat/types.ts";
import { TEST_SECRET } from "./server.ts";
import { TestClient } from "./ws_client.ts";

/** Someone with a session cookie. */
export interface Person {
  cookie: string;
  user: ChatUser;
}

/** A signed-in Google user `google:<id>` (a session signed with {@link TEST_SECRET}). */
export async function googleUser(id: string, name: string): Promise<Person> {
  const user: ChatUser = { id: `google:${id}`, name, kind: "google" };
  const token = await new SessionSigner(TEST_SECRET, { ttlSeconds: 600 })
    .sign(user);
  return { cookie: `${SESSION_COOKIE}=${token}`, user };
}

/** Opens `person`'s socket to `room` at `origin` and waits for `welcome`. */
export async function join(
  origin: string,
  room: string,
  person: Person,
): Promise<TestClient> {
  const client = await TestClient.connect(
    `${origin.replace("http", "ws")}/ws/chat/${room}`,
    { cookie: person.cookie, origin },
  );
  await client.nextOf("welcome");
  return client;
}

/** A JSON call to the API as `person`; answers the status and the parsed body. */
export async function call(
  origin: string,
  method: string,
  path: string,
  person: Person | null,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { origin };
  if (person) headers.cookie = person.cookie;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${origin}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** Opens `person`'s socket to `room` and answers the code it is closed with (a refusal after the upgrade). */
export async function closedWith(
  origin: string,
  room: string,
  person: Person,
): Promise<number> {
  const client = await TestClient.connect(
    `${origin.replace("http", "ws")}/ws/chat/${room}`,
    { cookie: person.cookie, origin },
  );
  return (await client.closed).code;
}

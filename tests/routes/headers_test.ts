/**
 * Security headers on every kind of response the app gives: pages, JSON API,
 * probes, a 404, static and built files. Real server, real HTTP.
 */
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../_helpers/server.ts";
import { IMMUTABLE_CACHE } from "../../lib/server.ts";

/** Responses the app's handlers make: pages, API, probes and the 404 handler. */
const HANDLED: Record<string, string> = {
  "lobby page": "/",
  "room page": "/chat/x",
  "rooms API": "/api/rooms",
  "not found": "/no/such/page",
  "API not found": "/api/no-such-thing",
  healthz: "/healthz",
  readyz: "/readyz",
};

/** Files served by `serveStatic`: `static/` and the content-hashed build. */
function files(server: TestServer): Record<string, string> {
  return {
    "static file": "/static/favicon.svg",
    "built asset": server.services.assets.islands,
  };
}

async function get(
  server: TestServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const res = await fetch(`${server.origin}${path}`, { headers });
  await res.body?.cancel();
  return res;
}

/** The directives of a CSP header, by name. */
function directives(csp: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of csp.split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), values);
  }
  return out;
}

/** The nonce in `script-src`, or null. */
function scriptNonce(csp: string): string | null {
  const sources = directives(csp).get("script-src") ?? [];
  for (const s of sources) {
    const m = s.match(/^'nonce-([A-Za-z0-9+/=_-]+)'$/);
    if (m) return m[1];
  }
  return null;
}

/** Which of the required security headers `res` is missing or has wrong; empty when all is well. */
function problems(res: Response): string[] {
  const out: string[] = [];
  const csp = res.headers.get("content-security-policy");
  if (!csp) return ["no Content-Security-Policy", ...others(res)];
  const d = directives(csp);
  const scriptSrc = d.get("script-src") ?? d.get("default-src") ?? [];
  if (scriptSrc.length === 0) out.push("CSP: no script-src");
  if (scriptSrc.some((s) => /'unsafe-(inline|eval)'/.test(s))) {
    out.push(`CSP: unsafe script source (${scriptSrc.join(" ")})`);
  }
  if (
    scriptSrc.includes("*") || scriptSrc.some((s) => /^(https?|data):$/.test(s))
  ) {
    out.push(`CSP: wildcard script source (${scriptSrc.join(" ")})`);
  }
  if (!scriptNonce(csp)) out.push("CSP: no nonce in script-src");
  if ((d.get("frame-ancestors") ?? []).join(" ") !== "'none'") {
    out.push(`CSP: frame-ancestors is ${d.get("frame-ancestors")}`);
  }
  return [...out, ...others(res)];
}

function others(res: Response): string[] {
  const out: string[] = [];
  const nosniff = res.headers.get("x-content-type-options");
  if (nosniff !== "nosniff") out.push(`X-Content-Type-Options: ${nosniff}`);
  const referrer = res.headers.get("referrer-policy");
  if (referrer !== "strict-origin-when-cross-origin") {
    out.push(`Referrer-Policy: ${referrer}`);
  }
  return out;
}

/** Fetches each target (plain http, then claimed https) and lists what is wrong with its headers. */
async function audit(
  server: TestServer,
  list: Record<string, string>,
): Promise<Record<string, string[]>> {
  const report: Record<string, string[]> = {};
  for (const [name, path] of Object.entries(list)) {
    const res = await get(server, path);
    const expected = name.includes("not found") ? 404 : 200;
    assert.equal(res.status, expected, `${name} (${path}) status`);
    const wrong = problems(res);
    const hsts = (await get(server, path, { "x-forwarded-proto": "https" }))
      .headers.get("strict-transport-security");
    if (!hsts) wrong.push("no HSTS over https");
    if (res.headers.get("strict-transport-security")) {
      wrong.push("HSTS over plain http");
    }
    if (wrong.length) report[`${name} ${path}`] = wrong;
  }
  return report;
}

/** The tests' server sits "behind" a proxy on loopback, so `X-Forwarded-Proto` is believed. */
const BEHIND_PROXY = { TRUST_PROXY: "127.0.0.0/8,::1" };

Deno.test("every page, API, probe and 404 response carries the security headers", async () => {
  const server = await startServer(BEHIND_PROXY);
  try {
    assert.deepEqual(await audit(server, HANDLED), {});
  } finally {
    await server.close();
  }
});

Deno.test({
  name: "static and built files carry the security headers too",
  async fn() {
    const server = await startServer(BEHIND_PROXY);
    try {
      assert.deepEqual(await audit(server, files(server)), {});
    } finally {
      await server.close();
    }
  },
});

Deno.test("the CSP nonce is fresh on every response", async () => {
  const server = await startServer();
  try {
    for (const path of ["/", "/chat/x", "/api/rooms", "/healthz"]) {
      const nonces = [];
      for (let i = 0; i < 3; i++) {
        const res = await get(server, path);
        nonces.push(scriptNonce(res.headers.get("content-security-policy")!));
      }
      assert.ok(nonces.every((n) => n && n.length >= 16), `${path}: ${nonces}`);
      assert.equal(
        new Set(nonces).size,
        nonces.length,
        `${path} reuses a nonce`,
      );
    }
    // The page's inline script carries that response's nonce, and no other inline script exists.
    const res = await fetch(`${server.origin}/`);
    const html = await res.text();
    const nonce = scriptNonce(res.headers.get("content-security-policy")!);
    const inline = [...html.matchAll(/<script\b([^>]*)>/gi)]
      .map((m) => m[1])
      .filter((attrs) => !/\bsrc=/.test(attrs));
    assert.ok(inline.length > 0, "the page has its theme script");
    for (const attrs of inline) {
      assert.ok(attrs.includes(`nonce="${nonce}"`), attrs);
    }
  } finally {
    await server.close();
  }
});

Deno.test("HSTS only when the request came over https", async () => {
  const server = await startServer(BEHIND_PROXY);
  try {
    for (const [name, path] of Object.entries(HANDLED)) {
      const plain = await get(server, path);
      assert.equal(
        plain.headers.get("strict-transport-security"),
        null,
        `${name}: HSTS over plain http`,
      );
      const https = await get(server, path, { "x-forwarded-proto": "https" });
      const hsts = https.headers.get("strict-transport-security") ?? "";
      assert.match(hsts, /max-age=(\d+)/, `${name}: no HSTS over https`);
      assert.ok(
        Number(hsts.match(/max-age=(\d+)/)![1]) >= 15_552_000,
        `${name}: HSTS max-age under 180 days: ${hsts}`,
      );
      // Only the first hop's claim counts, and only "https" means https.
      const spoofed = await get(server, path, {
        "x-forwarded-proto": "http, https",
      });
      assert.equal(
        spoofed.headers.get("strict-transport-security"),
        null,
        `${name}: HSTS from a later x-forwarded-proto hop`,
      );
    }
  } finally {
    await server.close();
  }
});

Deno.test("X-Forwarded-Proto is believed only from a trusted proxy (TRUST_PROXY)", async () => {
  const server = await startServer();
  try {
    const res = await get(server, "/", { "x-forwarded-proto": "https" });
    assert.equal(res.headers.get("strict-transport-security"), null);
    const guest = await fetch(`${server.origin}/api/session/guest`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        origin: server.origin,
        "x-forwarded-proto": "https",
      },
      body: JSON.stringify({ name: "Ana" }),
    });
    await guest.body?.cancel();
    assert.doesNotMatch(
      guest.headers.get("set-cookie") ?? "",
      /;\s*Secure/i,
      "a cookie marked Secure over plain http would never come back",
    );
  } finally {
    await server.close();
  }
});

Deno.test("built assets are cached for a year, immutable; other responses are not", async () => {
  const server = await startServer();
  try {
    const { assets } = server.services;
    const built = [assets.islands, ...assets.styles, ...assets.scripts];
    assert.ok(built.length >= 2);
    for (const path of built) {
      assert.ok(path.startsWith("/_build/"), path);
      const res = await get(server, path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("cache-control"), IMMUTABLE_CACHE, path);
      assert.equal(
        res.headers.get("cache-control"),
        "public, max-age=31536000, immutable",
      );
    }
    // A miss under /_build/ is not cached as immutable (a later build may add the file).
    const miss = await get(server, "/_build/islands.0000000000000000.js");
    assert.equal(miss.status, 404);
    assert.doesNotMatch(miss.headers.get("cache-control") ?? "", /immutable/);
    for (const path of ["/", "/chat/x", "/api/rooms", "/static/favicon.svg"]) {
      const res = await get(server, path);
      assert.doesNotMatch(
        res.headers.get("cache-control") ?? "",
        /immutable/,
        path,
      );
    }
  } finally {
    await server.close();
  }
});

Deno.test("ALLOWED_HOSTS: a request for another Host is refused before anything trusts it", async () => {
  const server = await startServer({ ALLOWED_HOSTS: "127.0.0.1,chat.example" });
  try {
    assert.equal((await get(server, "/healthz")).status, 200);
    const port = new URL(server.origin).port;
    // fetch() cannot send a Host other than the URL's: speak HTTP by hand.
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: Number(port),
    });
    await conn.write(
      new TextEncoder().encode(
        "GET /healthz HTTP/1.1\r\nHost: rebound.example\r\nConnection: close\r\n\r\n",
      ),
    );
    const buf = new Uint8Array(256);
    const n = await conn.read(buf);
    conn.close();
    const other = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    assert.match(other, /^HTTP\/1\.1 400/);
  } finally {
    await server.close();
  }
});

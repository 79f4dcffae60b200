import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  type BodyResult,
  localPath,
  MAX_BODY_BYTES,
  readBody,
} from "../../lib/web/body.ts";

/** Runs `readBody` on a request through a real Hono app and returns its result. */
async function read(
  body: BodyInit | null,
  headers: Record<string, string> = {},
): Promise<BodyResult> {
  let result: BodyResult | undefined;
  const app = new Hono();
  app.post("/", async (c) => {
    result = await readBody(c);
    return c.body(null, 204);
  });
  const res = await app.request("/", { method: "POST", body, headers });
  assert.equal(res.status, 204);
  assert.ok(result);
  return result;
}

const JSON_TYPE = { "content-type": "application/json" };
const FORM_TYPE = { "content-type": "application/x-www-form-urlencoded" };

function ok(result: BodyResult) {
  if (!result.ok) {
    assert.fail(`expected a body, got ${result.status} ${result.error}`);
  }
  return result;
}

function refused(result: BodyResult, status: number, error: string): void {
  assert.equal(result.ok, false, `expected ${status} ${error}, got a body`);
  if (result.ok) return;
  assert.equal(result.status, status);
  assert.equal(result.error, error);
  assert.ok(result.message.length > 0);
}

/** A chunked body (no Content-Length) of `total` bytes; counts what was pulled. */
function stream(total: number, chunk = 16 * 1024) {
  let sent = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(chunk, total - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(0x61)); // "a"
    },
    cancel() {
      cancelled = true;
    },
  });
  return { body, pulled: () => sent, cancelled: () => cancelled };
}

Deno.test("readBody: a JSON object, with or without charset, in any case", async () => {
  for (
    const type of [
      "application/json",
      "application/json; charset=utf-8",
      "Application/JSON",
    ]
  ) {
    const r = ok(
      await read('{"name":"Ana","n":2,"nested":{"a":[1]}}', {
        "content-type": type,
      }),
    );
    assert.equal(r.form, false, type);
    assert.deepEqual({ ...r.value }, { name: "Ana", n: 2, nested: { a: [1] } });
  }
});

Deno.test("readBody: JSON that is not an object is 400 bad_json", async () => {
  for (
    const body of ["[1,2]", "42", "null", '"str"', "true", "{broken", "{'a':1}"]
  ) {
    refused(await read(body, JSON_TYPE), 400, "bad_json");
  }
});

Deno.test("readBody: __proto__ in JSON is plain data on a null-prototype object", async () => {
  const r = ok(
    await read('{"__proto__":{"admin":true},"name":"x"}', JSON_TYPE),
  );
  assert.equal(Object.getPrototypeOf(r.value), null);
  assert.equal((r.value as Record<string, unknown>).admin, undefined);
  assert.deepEqual(Object.keys(r.value).sort(), ["__proto__", "name"]);
  assert.equal(({} as Record<string, unknown>).admin, undefined);
});

Deno.test("readBody: a urlencoded form, also without a content type", async () => {
  const text = "name=Ana+Lee&next=%2Fchat%2Fa&empty=&name2=%F0%9F%98%80";
  // Bytes, not a string: fetch would add `text/plain` to a string body.
  const bytes = new TextEncoder().encode(text);
  for (const [body, headers] of [[text, FORM_TYPE], [bytes, {}]] as const) {
    const r = ok(await read(body, headers));
    assert.equal(r.form, true);
    assert.deepEqual({ ...r.value }, {
      name: "Ana Lee",
      next: "/chat/a",
      empty: "",
      name2: "😀",
    });
  }
  // Repeated keys: the last wins, and `__proto__` is plain data.
  const r = ok(await read("a=1&a=2&__proto__=x&constructor=y", FORM_TYPE));
  assert.equal(r.value.a, "2");
  assert.equal(Object.getPrototypeOf(r.value), null);
  assert.equal(r.value.__proto__, "x");
  assert.equal(r.value.constructor, "y");
});

Deno.test("readBody: an empty body is an empty object; form unless it says JSON", async () => {
  for (
    const [body, headers, form] of [
      [null, {}, true],
      ["", FORM_TYPE, true],
      ["  \n ", {}, true],
      ["", JSON_TYPE, false],
      [" ", JSON_TYPE, false],
    ] as const
  ) {
    const r = ok(await read(body, headers));
    assert.deepEqual({ ...r.value }, {});
    assert.equal(r.form, form, JSON.stringify([body, headers]));
  }
});

Deno.test("readBody: other content types are 415", async () => {
  for (
    const type of [
      "text/plain",
      "application/xml",
      "multipart/form-data; boundary=x",
      "application/jsonx",
    ]
  ) {
    refused(
      await read("a=1", { "content-type": type }),
      415,
      "unsupported_type",
    );
  }
});

Deno.test("readBody: bodies up to MAX_BODY_BYTES are read, larger ones are 413", async () => {
  const fits = "a=" + "x".repeat(MAX_BODY_BYTES - 2);
  assert.equal(
    ok(await read(fits, FORM_TYPE)).value.a,
    "x".repeat(MAX_BODY_BYTES - 2),
  );
  refused(await read(fits + "x", FORM_TYPE), 413, "too_large");
  const json = JSON.stringify({ t: "y".repeat(MAX_BODY_BYTES) });
  refused(await read(json, JSON_TYPE), 413, "too_large");
});

Deno.test("readBody: the limit counts UTF-8 bytes, not characters", async () => {
  // 20,000 "€" are 20,000 characters but 60,000 bytes.
  const body = "a=" + "€".repeat(20_000);
  assert.ok(body.length < MAX_BODY_BYTES);
  assert.ok(new TextEncoder().encode(body).length > MAX_BODY_BYTES);
  refused(await read(body, FORM_TYPE), 413, "too_large");
});

Deno.test("readBody: a declared Content-Length over the limit is refused before reading", async () => {
  const s = stream(MAX_BODY_BYTES + 1);
  const r = await read(s.body, {
    ...FORM_TYPE,
    "content-length": String(MAX_BODY_BYTES + 1),
  });
  refused(r, 413, "too_large");
  assert.equal(s.pulled() <= 16 * 1024, true, `pulled ${s.pulled()} bytes`);
});

Deno.test("readBody: a chunked body is cut off at the limit, not buffered whole", async () => {
  const total = 64 * 1024 * 1024;
  const s = stream(total);
  refused(await read(s.body, FORM_TYPE), 413, "too_large");
  // Reading stopped shortly after the limit instead of pulling all 64 MiB.
  assert.ok(s.pulled() < 4 * MAX_BODY_BYTES, `pulled ${s.pulled()} bytes`);
  assert.equal(s.cancelled(), true);
  // Under the limit, a chunked body is read whole.
  const small = stream(1000, 100);
  const r = ok(await read(small.body, FORM_TYPE));
  assert.equal(Object.keys(r.value)[0], "a".repeat(1000));
});

Deno.test("localPath: local paths pass, anything that could leave the site is /", () => {
  for (
    const path of [
      "/",
      "/chat/general",
      "/chat/a?x=1#top",
      "/a//b",
      "/%2F%2Fevil",
    ]
  ) {
    assert.equal(localPath(path), path);
  }
  const hostile: unknown[] = [
    "//evil.example",
    "//evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "http://evil.example/chat",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "chat/general",
    "",
    " /chat",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\u0000",
    undefined,
    null,
    42,
    ["/chat"],
    { toString: () => "/chat" },
  ];
  for (const value of hostile) {
    assert.equal(localPath(value), "/", JSON.stringify(value) ?? String(value));
  }
});

Deno.test("localPath: what passes resolves to this site's origin", () => {
  const base = "https://chat.example.com/somewhere";
  for (
    const value of [
      "/x",
      "//evil.example",
      "/\\evil.example",
      "/\t/evil.example",
      "https://evil.example",
    ]
  ) {
    const target = new URL(localPath(value), base);
    assert.equal(target.origin, "https://chat.example.com", value);
  }
});

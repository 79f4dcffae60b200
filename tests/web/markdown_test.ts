import assert from "node:assert/strict";
import {
  type Block,
  type Inline,
  parseMarkdown,
  source,
} from "../../lib/web/markdown.ts";

/** The inline pieces of a one-paragraph message. */
function inline(text: string, options = {}): Inline[] {
  const blocks = parseMarkdown(text, options);
  assert.equal(blocks.length, 1, JSON.stringify(blocks));
  assert.equal(blocks[0].kind, "paragraph");
  return (blocks[0] as Extract<Block, { kind: "paragraph" }>).children;
}

const t = (text: string): Inline => ({ kind: "text", text });
const mark = (text: string): Inline => ({ kind: "mark", text });

Deno.test("plain text is one text piece, line breaks kept", () => {
  assert.deepEqual(inline("hello\nworld"), [t("hello\nworld")]);
  assert.deepEqual(parseMarkdown(""), [{
    kind: "paragraph",
    children: [],
  }]);
});

Deno.test("bold, italic, strike and their alternative delimiters", () => {
  assert.deepEqual(inline("a **b** c"), [
    t("a "),
    { kind: "strong", delimiter: "**", children: [t("b")] },
    t(" c"),
  ]);
  assert.deepEqual(inline("__b__"), [
    { kind: "strong", delimiter: "__", children: [t("b")] },
  ]);
  assert.deepEqual(inline("*i* and _j_"), [
    { kind: "em", delimiter: "*", children: [t("i")] },
    t(" and "),
    { kind: "em", delimiter: "_", children: [t("j")] },
  ]);
  assert.deepEqual(inline("~~gone~~"), [
    { kind: "strike", delimiter: "~~", children: [t("gone")] },
  ]);
});

Deno.test("emphasis nests", () => {
  assert.deepEqual(inline("**bold *and italic***"), [
    {
      kind: "strong",
      delimiter: "**",
      children: [t("bold "), {
        kind: "em",
        delimiter: "*",
        children: [t("and italic")],
      }],
    },
  ]);
  assert.deepEqual(inline("*a **b** c*"), [
    {
      kind: "em",
      delimiter: "*",
      children: [
        t("a "),
        { kind: "strong", delimiter: "**", children: [t("b")] },
        t(" c"),
      ],
    },
  ]);
});

Deno.test("delimiters that do not open or close stay text", () => {
  for (
    const text of [
      "2 * 3 * 4",
      "snake_case_name",
      "**not closed",
      "a ** b **",
      "~single~",
      "* list item",
      "**\n**",
      "*across\nlines*",
      "**",
      "_",
    ]
  ) {
    assert.ok(
      inline(text).every((p) => p.kind === "text"),
      `${text}: ${JSON.stringify(inline(text))}`,
    );
  }
});

Deno.test("inline code is literal, with backticks as marks; runs of backticks", () => {
  assert.deepEqual(inline("use `**x**` here"), [
    t("use "),
    mark("`"),
    { kind: "code", text: "**x**" },
    mark("`"),
    t(" here"),
  ]);
  assert.deepEqual(inline("``a ` b``"), [
    mark("``"),
    { kind: "code", text: "a ` b" },
    mark("``"),
  ]);
  assert.deepEqual(inline("`unclosed and ``"), [t("`unclosed and ``")]);
  // A delimiter inside code does not close emphasis outside it.
  assert.deepEqual(inline("*a `*` b*"), [
    {
      kind: "em",
      delimiter: "*",
      children: [
        t("a "),
        mark("`"),
        { kind: "code", text: "*" },
        mark("`"),
        t(
          " b",
        ),
      ],
    },
  ]);
});

Deno.test("http(s) links only, trailing punctuation and delimiters left out", () => {
  assert.deepEqual(inline("see https://example.com/a?b=1."), [
    t("see "),
    {
      kind: "link",
      href: "https://example.com/a?b=1",
      text: "https://example.com/a?b=1",
    },
    t("."),
  ]);
  assert.deepEqual(inline("**HTTP://EXAMPLE.COM/X**"), [
    {
      kind: "strong",
      delimiter: "**",
      children: [{
        kind: "link",
        href: "http://example.com/X",
        text: "HTTP://EXAMPLE.COM/X",
      }],
    },
  ]);
  for (
    const text of [
      "javascript:alert(1)",
      "data:text/html,<b>",
      "ftp://example.com/x",
      "xhttps://example.com",
      "https://",
      "[x](javascript:alert(1))",
    ]
  ) {
    assert.ok(
      inline(text).every((p) => p.kind !== "link"),
      `${text}: ${JSON.stringify(inline(text))}`,
    );
  }
  // A URL inside code is code.
  assert.deepEqual(inline("`https://example.com`")[1], {
    kind: "code",
    text: "https://example.com",
  });
});

Deno.test("fenced code blocks keep their text; fences are marks", () => {
  const blocks = parseMarkdown(
    "before\n```js\nconst a = **1**;\n<b>\n```\nafter",
  );
  assert.deepEqual(blocks, [
    { kind: "paragraph", children: [t("before")] },
    { kind: "break", text: "\n" },
    {
      kind: "code",
      open: "```js\n",
      text: "const a = **1**;\n<b>",
      close: "\n```",
    },
    { kind: "break", text: "\n" },
    { kind: "paragraph", children: [t("after")] },
  ]);
  // Unclosed: text.
  assert.equal(parseMarkdown("```\nno end").length, 1);
  assert.deepEqual(parseMarkdown("```\n```"), [
    { kind: "code", open: "```\n", text: "", close: "```" },
  ]);
});

Deno.test("block quotes group consecutive lines and parse their content", () => {
  assert.deepEqual(parseMarkdown("> one\n>**two**\nthree"), [
    {
      kind: "quote",
      lines: [
        { mark: "> ", children: [t("one")] },
        {
          mark: ">",
          children: [{ kind: "strong", delimiter: "**", children: [t("two")] }],
        },
      ],
    },
    { kind: "break", text: "\n" },
    { kind: "paragraph", children: [t("three")] },
  ]);
  // ">" elsewhere than at the start of a line is text.
  assert.deepEqual(inline("a > b"), [t("a > b")]);
});

Deno.test("mentions of known names, longest first; the viewer's marked as me", () => {
  const options = { names: ["Ana", "Ana Lima", "Ben"], me: "ben" };
  assert.deepEqual(inline("hi @ana lima and @Ben!", options), [
    t("hi "),
    { kind: "mention", text: "@ana lima", me: false },
    t(" and "),
    { kind: "mention", text: "@Ben", me: true },
    t("!"),
  ]);
  // Only `@name` is marked inline (the whole message is marked by lib/chat/mentions.ts's rule).
  assert.deepEqual(inline("Ben, look", options), [t("Ben, look")]);
  // Inside a longer word, or an unknown name: text.
  for (const text of ["@Benedict", "ben2", "Benjamin", "@Zoe", "ana"]) {
    assert.ok(
      inline(text, options).every((p) => p.kind === "text"),
      `${text}: ${JSON.stringify(inline(text, options))}`,
    );
  }
  // Names are matched literally, not as patterns.
  assert.deepEqual(inline("@a.b and @axb", { names: ["a.b"] }), [
    { kind: "mention", text: "@a.b", me: false },
    t(" and @axb"),
  ]);
  // Not in code.
  assert.ok(
    inline("`@Ben`", options).every((p) => p.kind !== "mention"),
  );
});

/** Hostile and awkward inputs: the source is always kept, exactly. */
const CORPUS = [
  "",
  "\n",
  "\n\n\n",
  "**",
  "***",
  "*****a*****",
  "_*_*_*",
  "``````",
  "`a``b`",
  "> ",
  ">",
  ">>> nested",
  "```",
  "```\n",
  "```\n```\n```",
  "a\n```\nb\n```\n> c\n> d\n```\ne\n```",
  "<script>alert(1)</script>",
  "**<img src=x onerror=alert(1)>**",
  "https://example.com/**x**",
  "@@Ana @ @Ana@Ana",
  "~~~~a~~~~",
  "\u202Eabc",
  "مرحبا **بالعالم**",
  "*".repeat(500),
  "`".repeat(500),
  "_a".repeat(300),
  "**a ".repeat(300),
  "> *x\n".repeat(50),
];

Deno.test("source(parse(text)) is the text, for a corpus and random strings", () => {
  const options = { names: ["Ana", "Ana Lima"], me: "Ana" };
  for (const text of CORPUS) {
    assert.equal(
      source(parseMarkdown(text, options)),
      text,
      JSON.stringify(text),
    );
  }
  const alphabet = [
    "*",
    "_",
    "~",
    "`",
    ">",
    "\n",
    " ",
    "a",
    "@",
    "Ana",
    "https://x.io/",
    "```",
    "é",
    "\u05D0",
  ];
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 3000; n++) {
    let text = "";
    const len = Math.floor(random() * 30);
    for (let k = 0; k < len; k++) {
      text += alphabet[Math.floor(random() * alphabet.length)];
    }
    assert.equal(
      source(parseMarkdown(text, options)),
      text,
      JSON.stringify(text),
    );
  }
});

Deno.test("hostile input of the longest allowed length parses quickly", () => {
  for (const unit of ["*a ", "`a ", "_a", "**", "@Ana ", "~~a "]) {
    const text = unit.repeat(Math.ceil(4000 / unit.length)).slice(0, 4000);
    const start = performance.now();
    const blocks = parseMarkdown(text, { names: ["Ana"], me: "Ana" });
    const ms = performance.now() - start;
    assert.equal(source(blocks), text);
    assert.ok(ms < 500, `${JSON.stringify(unit)}: ${ms.toFixed(0)} ms`);
  }
});

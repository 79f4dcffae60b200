/**
 * Markdown-lite for chat messages: a small, pure tokenizer (no HTML, no DOM)
 * that turns message text into blocks and inline spans, for a component to
 * render as elements. Browser-safe.
 *
 * What it knows: `**bold**` (or `__bold__`), `*italic*` (or `_italic_`),
 * `~~strike~~`, `` `code` ``, fenced code blocks (```` ``` ```` lines), block
 * quotes (`> `), bare http(s) links, and `@name` mentions of the names it is
 * given. Nothing else: no raw HTML, no images, no `[text](url)` links (a link
 * always shows where it goes).
 *
 * Every character of the text is kept: what formatting consumes (the `**`,
 * the `> `, a fence line, the line break before a block) is returned as a
 * `mark`, which the renderer keeps in the element hidden. So an element's
 * `textContent` is the text as sent, and nothing is lost or added.
 *
 * @module
 */

/** An inline piece of a line. */
export type Inline =
  | { kind: "text"; text: string }
  /** A formatting character sequence kept but not shown (`**`, `> `). */
  | { kind: "mark"; text: string }
  | {
    kind: "strong" | "em" | "strike";
    /** The delimiter, on both sides (`**`, `_`, `~~`). */
    delimiter: string;
    children: Inline[];
  }
  | { kind: "code"; text: string }
  /** `href` is the normalized http(s) URL; `text` what was written. */
  | { kind: "link"; href: string; text: string }
  /** `text` is the `@` and the name as written; `me`: it names the viewer. */
  | { kind: "mention"; text: string; me: boolean };

/** A block of the message. */
export type Block =
  /** Lines of text (line breaks kept in the text). */
  | { kind: "paragraph"; children: Inline[] }
  /** One `> ` line per entry: its mark and its content (lines joined by a shown line break). */
  | { kind: "quote"; lines: { mark: string; children: Inline[] }[] }
  /** A fenced code block: the opening fence line, the code, the closing fence line. */
  | { kind: "code"; open: string; text: string; close: string }
  /** Line breaks between blocks, kept but not shown. */
  | { kind: "break"; text: string };

/** Who may be mentioned, and who is reading. */
export interface MarkdownOptions {
  /** Names `@name` highlights (display names of people in the room). */
  names?: readonly string[];
  /** The viewer's name: `@me` is a mention of them. */
  me?: string;
}

/** Deepest nesting of emphasis: past it, delimiters stay text (bounds the work on hostile input). */
const MAX_DEPTH = 4;

const FENCE = "```";
/** A bare link, from `http(s)://` to the last character that is not closing punctuation or a delimiter. */
const URL_AT = /https?:\/\/[^\s<>"'`]*[^\s<>"'`.,;:!?)\]}*_~]/iy;

const isSpace = (ch: string | undefined) => ch === undefined || /\s/u.test(ch);
const isWordChar = (ch: string | undefined) =>
  ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);
const isAsciiWord = (ch: string | undefined) =>
  ch !== undefined && /[A-Za-z0-9_]/.test(ch);

/**
 * Splits `text` into blocks. Pure; linear in the text for ordinary input.
 *
 * @example
 * ```ts
 * parseMarkdown("**hi** @ana", { names: ["Ana"], me: "Ben" });
 * // [{ kind: "paragraph", children: [
 * //   { kind: "strong", delimiter: "**", children: [{ kind: "text", text: "hi" }] },
 * //   { kind: "text", text: " " },
 * //   { kind: "mention", text: "@ana", me: false }] }]
 * ```
 */
export function parseMarkdown(
  text: string,
  options: MarkdownOptions = {},
): Block[] {
  const inline = inlineParser(options);
  const lines = text.split("\n");
  const blocks: Exclude<Block, { kind: "break" }>[] = [];
  let paragraph: string[] = [];
  const endParagraph = () => {
    if (paragraph.length === 0) return;
    blocks.push({ kind: "paragraph", children: inline(paragraph.join("\n")) });
    paragraph = [];
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.startsWith(FENCE)) {
      const close = lines.findIndex((l, j) => j > i && l.trim() === FENCE);
      if (close !== -1) {
        endParagraph();
        const body = lines.slice(i + 1, close);
        blocks.push({
          kind: "code",
          open: line + "\n",
          text: body.join("\n"),
          close: (body.length > 0 ? "\n" : "") + lines[close],
        });
        i = close + 1;
        continue;
      }
    }
    if (line.startsWith(">")) {
      endParagraph();
      const quoted: { mark: string; children: Inline[] }[] = [];
      for (; i < lines.length && lines[i].startsWith(">"); i++) {
        const mark = lines[i].startsWith("> ") ? "> " : ">";
        quoted.push({ mark, children: inline(lines[i].slice(mark.length)) });
      }
      blocks.push({ kind: "quote", lines: quoted });
      continue;
    }
    paragraph.push(line);
    i++;
  }
  endParagraph();
  // One line break stands between two blocks: kept, not shown (a block starts a line anyway).
  return blocks.flatMap((b, n): Block[] =>
    n === 0 ? [b] : [{ kind: "break", text: "\n" }, b]
  );
}

/**
 * A code span opening at `i`: a run of backticks, then text on the same line,
 * then a run of the same length. `end` is the index after it.
 */
function codeSpanAt(
  s: string,
  i: number,
): { fence: string; text: string; end: number } | null {
  const fence = s.slice(i).match(/^`+/)![0];
  const re = new RegExp(`(?<!\`)${fence}(?!\`)`, "g");
  re.lastIndex = i + fence.length;
  const m = re.exec(s);
  if (!m || m.index === i + fence.length) return null;
  const text = s.slice(i + fence.length, m.index);
  if (text.includes("\n")) return null;
  return { fence, text, end: m.index + fence.length };
}

/** Escapes `s` for use inside a regular expression. */
function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** An inline parser for the given names (longest first, so "Ana Lima" wins over "Ana"). */
function inlineParser(options: MarkdownOptions): (s: string) => Inline[] {
  const me = options.me?.trim() ?? "";
  const names = [...new Set([...(options.names ?? []), me])]
    .filter((n) => n.trim() !== "")
    .sort((a, b) => b.length - a.length);
  const atName = names.length > 0
    ? new RegExp(`@(?:${names.map(escapeRegExp).join("|")})`, "iuy")
    : null;
  const isMe = (name: string) =>
    me !== "" && name.toLocaleLowerCase() === me.toLocaleLowerCase();

  /** A mention starting at `i`, if one does. */
  const mentionAt = (s: string, i: number): Inline | null => {
    if (isWordChar(s[i - 1])) return null;
    if (!atName || s[i] !== "@") return null;
    atName.lastIndex = i;
    const m = atName.exec(s);
    if (!m || /[\p{L}\p{N}]/u.test(s[i + m[0].length] ?? "")) return null;
    return { kind: "mention", text: m[0], me: isMe(m[0].slice(1)) };
  };

  /** A link starting at `i`, if one does (http and https only). */
  const linkAt = (s: string, i: number): Inline | null => {
    if (isAsciiWord(s[i - 1])) return null;
    URL_AT.lastIndex = i;
    const m = URL_AT.exec(s);
    if (!m) return null;
    try {
      const url = new URL(m[0]);
      if (url.protocol !== "http:" && url.protocol !== "https:") return null;
      return { kind: "link", href: url.href, text: m[0] };
    } catch {
      return null;
    }
  };

  /** The delimiter of an emphasis that could open at `i`. */
  const delimiterAt = (s: string, i: number): string | null => {
    for (const d of ["**", "__", "~~", "*", "_"]) {
      if (!s.startsWith(d, i)) continue;
      const after = s[i + d.length];
      if (isSpace(after) || after === d[0]) return null;
      // `_` inside a word (snake_case) is text.
      if (d[0] === "_" && isWordChar(s[i - 1])) return null;
      return d;
    }
    return null;
  };

  /** Where the emphasis opened by `d` at `start` closes on its line, or -1. */
  const closerOf = (s: string, d: string, start: number): number => {
    for (let j = start + d.length + 1; j < s.length; j++) {
      const ch = s[j];
      if (ch === "\n") return -1;
      if (ch === "`") {
        const span = codeSpanAt(s, j);
        j = (span?.end ?? j + (s.slice(j).match(/^`+/)![0].length)) - 1;
        continue;
      }
      if (!s.startsWith(d, j) || isSpace(s[j - 1])) continue;
      if (d.length === 1 && (s[j - 1] === d || s[j + 1] === d)) continue;
      // In a run like `***`, the last delimiter closes (`**a *b***`).
      if (d.length === 2 && s[j + 2] === d[0]) continue;
      if (d[0] === "_" && isWordChar(s[j + d.length])) continue;
      return j;
    }
    return -1;
  };

  const parse = (s: string, depth: number): Inline[] => {
    const out: Inline[] = [];
    let buf = "";
    /**
     * Per delimiter, the end of a line on which an opener found no closer:
     * no later opener on that line will either (keeps hostile text linear).
     */
    const unclosed = new Map<string, number>();
    const push = (piece: Inline) => {
      if (buf) out.push({ kind: "text", text: buf });
      buf = "";
      out.push(piece);
    };
    let i = 0;
    while (i < s.length) {
      const ch = s[i];
      if (ch === "`") {
        const span = codeSpanAt(s, i);
        if (span) {
          push({ kind: "mark", text: span.fence });
          push({ kind: "code", text: span.text });
          push({ kind: "mark", text: span.fence });
          i = span.end;
          continue;
        }
        // An unmatched run of backticks is text, all of it.
        const run = s.slice(i).match(/^`+/)![0];
        buf += run;
        i += run.length;
        continue;
      } else if (ch === "h" || ch === "H") {
        const link = linkAt(s, i);
        if (link && link.kind === "link") {
          push(link);
          i += link.text.length;
          continue;
        }
      } else if (
        depth < MAX_DEPTH && (ch === "*" || ch === "_" || ch === "~")
      ) {
        const d = delimiterAt(s, i);
        const close = d && !(i < (unclosed.get(d) ?? -1))
          ? closerOf(s, d, i)
          : -1;
        if (d && close === -1) {
          const eol = s.indexOf("\n", i);
          unclosed.set(d, eol === -1 ? s.length : eol);
        }
        if (d && close !== -1) {
          const kind = d === "~~" ? "strike" : d.length === 2 ? "strong" : "em";
          push({
            kind,
            delimiter: d,
            children: parse(s.slice(i + d.length, close), depth + 1),
          });
          i = close + d.length;
          continue;
        }
      }
      const mention = mentionAt(s, i);
      if (mention && mention.kind === "mention") {
        push(mention);
        i += mention.text.length;
        continue;
      }
      buf += ch;
      i++;
    }
    if (buf) out.push({ kind: "text", text: buf });
    return out;
  };
  return (s) => parse(s, 0);
}

/**
 * The text `blocks` were parsed from: every character, marks included.
 * `source(parseMarkdown(t)) === t` for any `t`.
 */
export function source(blocks: readonly Block[]): string {
  const inline = (pieces: readonly Inline[]): string =>
    pieces.map((p) => {
      switch (p.kind) {
        case "text":
        case "mark":
        case "code":
        case "link":
        case "mention":
          return p.text;
        case "strong":
        case "em":
        case "strike":
          return p.delimiter + inline(p.children) + p.delimiter;
        default: {
          const _exhaustive: never = p;
          return "";
        }
      }
    }).join("");
  return blocks.map((b) => {
    switch (b.kind) {
      case "paragraph":
        return inline(b.children);
      case "quote":
        return b.lines.map((l) => l.mark + inline(l.children)).join("\n");
      case "code":
        return b.open + b.text + b.close;
      case "break":
        return b.text;
      default: {
        const _exhaustive: never = b;
        return "";
      }
    }
  }).join("");
}

/**
 * `deno task icons`: draws the app's PNG icons (web app manifest, home
 * screens) from `static/favicon.svg` with Debian's Chromium, so they match it
 * exactly. Writes `static/icons/`; the files are committed, so only a change
 * of the logo needs this. Nothing is downloaded.
 *
 * @module
 */
import { launchBrowser } from "../tests/e2e/_browser.ts";

const STATIC = new URL("../static/", import.meta.url);
/** The logo's blue (its `rect`), behind a maskable icon's safe zone. */
const LOGO_BLUE = "#0d6efd";

/** Each icon: its file, its size, and whether it is maskable (the logo inside the middle 80 %, full-bleed background). */
const ICONS = [
  { file: "icon-192.png", size: 192, maskable: false },
  { file: "icon-512.png", size: 512, maskable: false },
  { file: "maskable-512.png", size: 512, maskable: true },
  { file: "apple-touch-icon.png", size: 180, maskable: true },
] as const;

if (import.meta.main) {
  const svg = await Deno.readTextFile(new URL("favicon.svg", STATIC));
  const src = `data:image/svg+xml;base64,${
    btoa(String.fromCharCode(...new TextEncoder().encode(svg)))
  }`;
  await Deno.mkdir(new URL("icons/", STATIC), { recursive: true });
  const browser = await launchBrowser();
  try {
    for (const { file, size, maskable } of ICONS) {
      const page = await browser.newPage({
        viewport: { width: size, height: size },
      });
      // A maskable icon may be cut to a circle: the logo keeps to the middle 80 %.
      const inner = maskable ? Math.round(size * 0.8) : size;
      await page.setContent(
        `<body style="margin:0;background:${
          maskable ? LOGO_BLUE : "transparent"
        };display:grid;place-items:center;height:${size}px">` +
          `<img src="${src}" width="${inner}" height="${inner}"></body>`,
      );
      await page.locator("img").evaluate((img: HTMLImageElement) =>
        img.decode()
      );
      await page.screenshot({
        path: new URL(`icons/${file}`, STATIC).pathname,
        omitBackground: !maskable,
      });
      await page.close();
      console.log(`static/icons/${file} (${size}×${size})`);
    }
  } finally {
    await browser.close();
  }
}

/**
 * axe-core in a real page: its browser build is evaluated in the page (the
 * app's CSP allows what DevTools-protocol evaluation does), then run on the
 * document as it stands.
 */
import type { AxeResults, RunOptions } from "axe-core";
import type { Page } from "playwright-core";

/** One rule broken, where, and why (what a failing test prints). */
interface Violation {
  id: string;
  impact: string | null;
  nodes: string[];
}

/** axe-core's browser build, the version pinned in deno.json. */
const AXE_SOURCE = await Deno.readTextFile(
  new URL(import.meta.resolve("axe-core")),
);

/** Runs axe on the page as it stands; every violation, with its targets. */
export async function axeViolations(page: Page): Promise<Violation[]> {
  const loaded = await page.evaluate(() => "axe" in globalThis);
  if (!loaded) await page.evaluate(AXE_SOURCE);
  return await page.evaluate(async () => {
    // Colours caught mid-transition (a button fading back from :active) are not the page's.
    await Promise.all(document.getAnimations().map((a) => a.finished));
    const { axe } = globalThis as unknown as {
      axe: {
        run(context: Document, options: RunOptions): Promise<AxeResults>;
      };
    };
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      nodes: v.nodes.map((n) =>
        `${n.target.join(" ")}: ${n.failureSummary ?? ""}`.replace(/\s+/g, " ")
      ),
    }));
  });
}

/** Runs axe on `page` and adds what it found, one line per rule, to `into`. */
export async function axeInto(
  into: string[],
  page: Page,
  where: string,
): Promise<void> {
  for (const v of await axeViolations(page)) {
    into.push(`${where}: ${v.id} (${v.impact}) at ${v.nodes.join(" | ")}`);
  }
}

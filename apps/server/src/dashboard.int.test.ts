/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core
 * (Playwright's own browser download cannot work offline). Opens `/`, submits
 * a batch through the page's form, sees it complete live (SSE), opens its
 * timeline, and keeps a screenshot in `test-artifacts/`.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer, TWO_STEP_YAML } from "./test-fixtures.js";

const CHROMIUM = process.env["HALO_CHROMIUM"] ?? "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));

describe("the dashboard in chromium", () => {
  let test: TestServer;
  let browser: BrowserContext;
  let profileDirectory: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no browser at ${CHROMIUM}: install Debian's chromium (scripts/ci/install-chromium.sh) or set HALO_CHROMIUM`,
      );
    }
    test = await startTestServer();
    profileDirectory = await mkdtemp(join(tmpdir(), "halo-chromium-"));
    // A fresh profile per run (Playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profileDirectory, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await test?.close();
    if (profileDirectory) await rm(profileDirectory, { recursive: true, force: true });
  });

  it("submits a batch from the page and shows it complete, with its timeline", async () => {
    const registered = await fetch(`${test.url}/v1/workflows`, { method: "POST", body: TWO_STEP_YAML });
    expect(registered.status).toBe(201);
    const page = await browser.newPage();
    await page.goto(`${test.url}/`);
    await waitForText(page.locator("#workflows"), "two-step");
    await waitForCount(page.locator("#executors tr"), 2);
    // Browser-side expressions as strings: this package compiles without the DOM library.
    await page.waitForFunction("document.body.dataset.live === 'true'");
    const queries = Array.from({ length: 60 }, (_, index) =>
      JSON.stringify({ id: `ui-${index}`, user_query: `question ${index % 5}` }),
    ).join("\n");
    await page.selectOption("#workflow", "two-step");
    await page.fill("#queries", queries);
    await page.click("#submit button");
    await page.waitForSelector("#message:has-text('created batch_')");
    const row = page.locator("#batches tr").first();
    await row.locator(".status.completed").waitFor({ timeout: 60_000 });
    await waitForText(row, "60/60");
    await row.locator(".batch-link").click();
    await page.waitForSelector("#timeline svg rect");
    await page.waitForSelector("#planned img");
    await page.waitForFunction(
      "(() => { const image = document.querySelector('#planned img'); return image && image.complete && image.naturalWidth > 0; })()",
    );
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
    await page.close();
  }, 300_000);
});

/** Waits until the locator's first match contains `text`. */
async function waitForText(locator: Locator, text: string): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: 30_000 });
}

/** Waits until the locator matches `count` elements. */
async function waitForCount(locator: Locator, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await locator.count()) !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} elements, found ${await locator.count()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

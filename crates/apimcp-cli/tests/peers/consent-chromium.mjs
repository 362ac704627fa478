// A person at a real browser: headless Chromium (Debian's, driven by playwright-core) opens an
// authorization URL, is shown the consent page, and clicks Approve; the run ends when Chromium
// requests a URL starting with the redirect URI prefix. Nothing needs to listen there: Playwright
// never routes a request that a redirect made (by design), so the URL is taken from the request
// event, and Chromium's own failed load of it is of no concern; a direct navigation to the prefix
// (a page's script or a form_post) is routed and answered here with a small page.
//
// Usage (the file must sit in $PLAYWRIGHT_DIR so that its import resolves; env CHROMIUM, default
// /usr/bin/chromium; CONSENT_CLICK=deny clicks Deny instead, to see the error redirect):
//   node consent-chromium.mjs AUTHORIZE_URL REDIRECT_URI_PREFIX SCREENSHOT.png
// stdout, one line:
//   {"ok":true,"title":"...","text":"<document.body.innerText of the consent page, trimmed>",
//    "final_url":"<the redirect URI with code, state, iss>","screenshot":"SCREENSHOT.png"}
//   or {"ok":false,"error":"...","url":"<where the page was>"} with exit code 1 (a screenshot of that
//   page is attempted at SCREENSHOT.png all the same). Each step waits at most 20 s.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const STEP_MS = 20_000;
const [authorizeUrl, prefix, screenshot] = process.argv.slice(2);
const CLICK = process.env.CONSENT_CLICK === 'deny' ? 'Deny' : 'Approve';

function finish(code, result) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
}

async function main() {
  if (!authorizeUrl || !prefix || !screenshot) throw new Error('usage: node consent-chromium.mjs AUTHORIZE_URL REDIRECT_URI_PREFIX SCREENSHOT.png');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'apimcp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: STEP_MS,
    viewport: { width: 1000, height: 800 },
  });
  let page;
  try {
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(STEP_MS);
    let reach;
    const reached = new Promise((resolve) => { reach = resolve; });
    context.on('request', (r) => {
      if (r.url().startsWith(prefix)) {
        console.error(`[consent-chromium] redirect URI requested: ${r.url()}`);
        reach(r.url());
      }
    });
    await context.route((url) => url.href.startsWith(prefix), (route) => route.fulfill({ status: 200,
      contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>Signed in</title><p>You can close this window.</p>' }));
    page = context.pages()[0] ?? await context.newPage();
    page.on('console', (m) => console.error(`[consent-chromium] console ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => console.error(`[consent-chromium] page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.request().isNavigationRequest()) console.error(`[consent-chromium] ${r.request().method()} ${r.url()} -> ${r.status()}`);
    });

    const opened = await page.goto(authorizeUrl, { waitUntil: 'load' });
    if (opened && opened.status() >= 400) {
      throw new Error(`HTTP ${opened.status()} at ${opened.url()}: ${(await page.evaluate(() => document.body?.innerText ?? '')).trim().slice(0, 300)}`);
    }
    const value = CLICK.toLowerCase();
    const button = page.locator(`button[value="${value}"], button:has-text("${CLICK}"), input[type="submit"][value="${CLICK}"]`).first();
    await button.waitFor({ state: 'visible' });
    await page.screenshot({ path: screenshot, fullPage: true });
    const title = await page.title();
    const text = (await page.evaluate(() => document.body.innerText)).trim();
    const consentUrl = page.url();

    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no request to ${prefix} within ${STEP_MS / 1000} s of the click`)), STEP_MS);
      // An error page on the way (a 4xx or 5xx document) ends the wait at once, saying what it said.
      page.on('response', async (r) => {
        if (r.status() < 400 || !r.request().isNavigationRequest() || r.frame() !== page.mainFrame()) return;
        const body = await r.text().catch(() => '');
        reject(new Error(`HTTP ${r.status()} at ${r.url()}: ${body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300)}`));
      });
    });
    await button.click();
    const finalUrl = await Promise.race([reached, late]).finally(() => clearTimeout(timer));
    return { ok: true, title, text, consent_url: consentUrl, final_url: finalUrl, screenshot };
  } catch (e) {
    const url = page?.url();
    if (page) await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
    e.url = url;
    throw e;
  } finally {
    await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// eslint-disable-next-line no-control-regex
const plain = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
main().then((result) => finish(0, result), (e) => finish(1, { ok: false, error: plain(String(e?.message ?? e)), url: e?.url ?? null }));

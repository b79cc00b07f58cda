// Firefox for the end-to-end tests: Debian's firefox-esr driven by puppeteer-core over WebDriver
// BiDi, in a fresh profile, with Firefox's fake camera and microphone. Pages are wrapped so that
// they answer the calls the tests make of a Playwright page (helpers.mjs), in one way for both
// browsers.
//
// Two things differ from what Puppeteer does by itself, on purpose:
// - Puppeteer's `evaluate` tells Firefox each call is a user gesture, and one gesture lets the page
//   play sound for good: a test reading stats would switch Firefox's autoplay blocking off behind
//   its back. Pages here evaluate without that, so only the test's clicks count as the user's, and
//   Firefox's default autoplay setting (sound waits for a click) is left as users have it.
// - A screen share needs a windowed Firefox (headless Firefox refuses getDisplayMedia): `windowed`
//   runs it on its own Xvfb display, started here and stopped with the browser; each page then gets
//   its own window, so that none is a hidden background tab.
//
// Env: FIREFOX_BIN (default /usr/bin/firefox-esr).

import { spawn } from 'node:child_process';
import puppeteer from 'puppeteer-core';

const FIREFOX_BIN = process.env.FIREFOX_BIN ?? '/usr/bin/firefox-esr';
const XVFB_START_TIMEOUT_MS = 10_000;

const FIREFOX_PREFS = {
  // A fake camera and microphone, used without asking (the tests cannot click a door-hanger).
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
};

/**
 * Starts Xvfb on a display it picks itself (`-displayfd`: no clash with another one running).
 * Returns `{display, stop()}`.
 */
export async function startXvfb() {
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const errors = [];
  xvfb.stderr.setEncoding('utf8').on('data', (chunk) => errors.push(chunk));
  const display = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Xvfb gave no display within ${XVFB_START_TIMEOUT_MS} ms`)), XVFB_START_TIMEOUT_MS);
    xvfb.stdio[3].setEncoding('utf8').once('data', (text) => {
      clearTimeout(timer);
      resolve(`:${text.trim()}`);
    });
    xvfb.once('error', (error) => reject(new Error(`could not start Xvfb: ${error.message}`)));
    xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (code ${code}): ${errors.join('')}`)));
  });
  return {
    display,
    async stop() {
      if (xvfb.exitCode !== null) return;
      const exited = new Promise((resolve) => xvfb.once('exit', resolve));
      xvfb.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Starts Firefox (headless, or `windowed` on a fresh Xvfb). Returns `{browser, newPage({viewport,
 * name}), close()}`; `newPage` gives `{context, page}`, the page wrapped as `FirefoxPage`.
 */
export async function launchFirefox({ windowed = false } = {}) {
  const xvfb = windowed ? await startXvfb() : null;
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: FIREFOX_BIN,
      headless: !windowed,
      extraPrefsFirefox: FIREFOX_PREFS,
      env: xvfb ? { ...process.env, DISPLAY: xvfb.display } : process.env,
    });
  } catch (error) {
    await xvfb?.stop();
    throw error;
  }
  return {
    browser,
    async newPage({ viewport, name = null }) {
      const context = await browser.createBrowserContext();
      const page = await context.newPage(windowed ? { type: 'window' } : {});
      await page.setViewport(viewport);
      // The name the page remembers from an earlier visit (used as is with `prejoin=0`).
      if (name !== null) await page.evaluateOnNewDocument((n) => localStorage.setItem('classroom.name', n), name);
      return { context, page: new FirefoxPage(browser, page) };
    },
    async close() {
      await browser.close().catch(() => {});
      await xvfb?.stop();
    },
  };
}

/** The call did not reach the page (it was navigating, or closed), as opposed to the page throwing. */
class ProtocolFailure extends Error {}

/** A Puppeteer page of Firefox seen through the calls the tests make of a Playwright page. */
class FirefoxPage {
  #browser;
  #page;

  constructor(browser, page) {
    this.#browser = browser;
    this.#page = page;
  }

  on(event, listener) {
    this.#page.on(event, listener);
  }

  goto(url, { timeout } = {}) {
    return this.#page.goto(url, { timeout });
  }

  /** A real click (pointer events, a user gesture for the page). */
  click(selector) {
    return this.#page.click(selector);
  }

  screenshot({ path }) {
    return this.#page.screenshot({ path });
  }

  setViewportSize({ width, height }) {
    return this.#page.setViewport({ width, height });
  }

  /**
   * Runs `fn(arg)` in the page and returns its JSON-able result; no user gesture (see above).
   * Throws what the page threw.
   */
  async evaluate(fn, arg = null) {
    const declaration = `async (json) => JSON.stringify({ value: await (${fn.toString()})(JSON.parse(json)) })`;
    const { result } = await this.#browser.connection
      .send('script.callFunction', {
        functionDeclaration: declaration,
        awaitPromise: true,
        target: { context: this.#page.mainFrame()._id },
        arguments: [{ type: 'string', value: JSON.stringify(arg) }],
        resultOwnership: 'none',
        userActivation: false,
      })
      .catch((error) => {
        throw new ProtocolFailure(error.message);
      });
    if (result.type === 'exception') {
      const details = result.exceptionDetails;
      throw new Error(details.exception?.value?.message ?? details.text);
    }
    return JSON.parse(result.result.value).value;
  }

  /**
   * Polls `fn(arg)` every `polling` ms until it returns something truthy (returned); throws what
   * `fn` throws, or after `timeout` ms. A call lost to a navigation is tried again.
   */
  async waitForFunction(fn, arg = null, { timeout, polling = 100 } = {}) {
    const deadline = Date.now() + timeout;
    let lastError = null;
    for (;;) {
      let value;
      try {
        value = await this.evaluate(fn, arg);
        lastError = null;
      } catch (error) {
        // The page's own exception ends the wait; a protocol error (page navigating) does not.
        if (!(error instanceof ProtocolFailure)) throw error;
        lastError = error;
      }
      if (value) return value;
      if (Date.now() >= deadline) {
        throw new Error(`Timeout ${timeout}ms exceeded${lastError ? ` (last: ${lastError.message})` : ''}`);
      }
      await new Promise((resolve) => setTimeout(resolve, polling));
    }
  }
}

// The start page on a server that needs its admin key to create a class (any server reachable
// beyond the machine it runs on): the page says so and asks for the key, a wrong key is refused
// with a clear message, and the right one creates the class. The key is sent as a bearer token and
// never stored by the page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, openPage, useHarness, withDiagnostics } from './helpers.mjs';

const KEY = 'the-admin-key-of-this-school-server-0123';

useHarness({ serverArgs: ['--admin-key', KEY] });

/** What the start page shows: the key form, the error text, and whether links are there. */
function landingState(page) {
  return page.evaluate(() => ({
    asksForKey: !document.getElementById('admin-key-form').hidden,
    error: document.getElementById('create-error').textContent.trim(),
    linksShown: !document.getElementById('links').hidden,
    teacherUrl: document.getElementById('teacher-url').getAttribute('href') ?? '',
  }));
}

test('the start page asks for the admin key, refuses a wrong one and creates with the right one', { timeout: 60_000 }, async () => {
  await withDiagnostics('admin-key', async () => {
    const visitor = await openPage('landing', `${harness.baseUrl}/`);
    const { page } = visitor;

    await page.click('#create-class');
    await page.waitForFunction(() => !document.getElementById('admin-key-form').hidden, null, { timeout: 10_000 });
    let state = await landingState(page);
    assert.ok(state.error.length > 0, 'the page says why nothing was created');
    assert.ok(!state.linksShown, 'no class without the key');

    await page.fill('#admin-key', 'not-the-key-of-this-server-at-all');
    await page.press('#admin-key', 'Enter');
    await page.waitForFunction(() => document.getElementById('create-error').textContent.trim() !== '', null, { timeout: 10_000 });
    state = await landingState(page);
    assert.ok(state.asksForKey, 'still asking after a wrong key');
    assert.ok(!state.linksShown, 'a wrong key creates nothing');

    await page.fill('#admin-key', KEY);
    await page.press('#admin-key', 'Enter');
    await page.waitForFunction(() => !document.getElementById('links').hidden, null, { timeout: 10_000 });
    state = await landingState(page);
    assert.ok(!state.asksForKey, 'the key form goes once the class is made');
    assert.match(new URL(state.teacherUrl).pathname, /^\/class\/[^/]+$/, `${state.teacherUrl} is a class link`);
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.ok(!stored.includes(KEY), 'the page stores no key');
  });
});

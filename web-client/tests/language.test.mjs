// The page speaks French to a browser that prefers French and English otherwise, before and after
// joining, and `?lang=` overrides the browser.

import test from 'node:test';
import assert from 'node:assert/strict';
import { createRoom, openPage, useHarness, waitJoined, waitUntil, withDiagnostics } from './helpers.mjs';

useHarness();

/** The page's language and a few of its visible texts. */
function texts(page) {
  return page.evaluate(() => ({
    lang: document.documentElement.lang,
    join: document.getElementById('join').textContent.trim(),
    leave: document.querySelector('#leave .control-text').textContent.trim(),
    title: document.title,
  }));
}

test('a French browser gets the class in French', async () => {
  await withDiagnostics('french', async () => {
    const room = await createRoom();
    const teacher = await openPage('teacher-fr', room.teacher_url, { locale: 'fr-FR' });
    await teacher.page.waitForSelector('#prejoin-screen:not([hidden])');
    const before = await texts(teacher.page);
    assert.deepEqual(before, { lang: 'fr', join: 'Entrer', leave: 'Quitter', title: 'Classe virtuelle' });
    await teacher.page.fill('#name', 'Mme Durand');
    await teacher.page.click('#join');
    await waitJoined(teacher);
    await waitUntil(teacher, 'the participant count in French', () =>
      document.getElementById('participant-count').textContent.trim() === '1 dans la classe');
  });
});

test('an English or other browser gets English, and ?lang=fr forces French', async () => {
  await withDiagnostics('english', async () => {
    const room = await createRoom();
    const german = await openPage('pupil-de', room.pupil_url, { locale: 'de-DE' });
    await german.page.waitForSelector('#prejoin-screen:not([hidden])');
    assert.equal((await texts(german.page)).join, 'Join');
    const forced = await openPage('pupil-forced', `${room.pupil_url}&lang=fr`, { locale: 'en-GB' });
    await forced.page.waitForSelector('#prejoin-screen:not([hidden])');
    assert.equal((await texts(forced.page)).join, 'Entrer');
    const landing = await openPage('landing-fr', new URL('/', room.pupil_url).href, { locale: 'fr-FR' });
    assert.equal((await landing.page.textContent('#create-class')).trim(), 'Créer une classe');
  });
});

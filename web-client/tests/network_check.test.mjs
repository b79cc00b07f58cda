// The network check page (/check) against the real server: from this machine the WebSocket and media
// over UDP and over TCP (ICE-TCP) reach the server, so the page must say they work — which it can only
// say after a real ICE/DTLS connection over the server's UDP candidate alone, then its TCP one alone
// (the server reports `connected`). This
// server has no TURN relay configured, and the page says so; in French too. The start page links
// to the check.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, openPage, useHarness, withDiagnostics } from './helpers.mjs';

useHarness();

const CHECK_TIMEOUT_MS = 45_000;

/** Each line's verdict and explanation once the page has finished. */
async function verdicts(page) {
  await page.waitForFunction(() => document.body.dataset.checked === 'true', null, { timeout: CHECK_TIMEOUT_MS });
  return page.evaluate(() => {
    const lines = {};
    for (const line of document.querySelectorAll('[data-line]')) {
      const status = line.querySelector('.check-status');
      lines[line.dataset.line] = {
        verdict: status.dataset.status,
        status: status.textContent.trim(),
        detail: line.querySelector('.check-detail').textContent.trim(),
      };
    }
    return {
      lines,
      summary: document.getElementById('check-summary').textContent.trim(),
      report: document.getElementById('check-report').textContent,
    };
  });
}

test('the check page says signalling, UDP and TCP work, and that this server has no relay', { timeout: 90_000 }, async () => {
  await withDiagnostics('network-check', async () => {
    const start = await openPage('start', `${harness.baseUrl}/?lang=en`);
    const href = await start.page.getAttribute('#check-network', 'href');
    assert.equal(href, '/check', 'the start page links to the network check');

    const { page } = await openPage('check-en', `${harness.baseUrl}/check?lang=en`);
    const { lines, summary, report } = await verdicts(page);
    assert.equal(lines.signalling.verdict, 'works', JSON.stringify(lines.signalling));
    assert.equal(lines.udp.verdict, 'works', JSON.stringify(lines.udp));
    assert.match(lines.udp.detail, /127\.0\.0\.1:\d+/, 'the UDP line names the address and port it reached');
    assert.equal(lines.tcp.verdict, 'works', JSON.stringify(lines.tcp));
    assert.match(lines.tcp.detail, /127\.0\.0\.1:\d+/, 'the TCP line names the address and port it reached');
    assert.equal(lines.relay.verdict, 'not_offered', `no [turn] configured: ${JSON.stringify(lines.relay)}`);
    assert.equal(summary, 'Classes work well from here.');
    assert.match(report, /UDP \(best\): Works/, 'the report for IT staff lists each line');

    const french = await openPage('check-fr', `${harness.baseUrl}/check?lang=fr`, { locale: 'fr-FR' });
    const fr = await verdicts(french.page);
    assert.equal(fr.lines.udp.verdict, 'works');
    assert.equal(fr.lines.udp.status, 'Fonctionne', 'the page speaks French when asked');
    assert.equal(fr.lines.relay.status, 'Non proposé par ce serveur');
  });
});

// The network check page (/check): says which ways audio and video can reach the server from where
// the page is opened, line by line, and writes a report for IT staff. The wire and WebRTC part is
// check-probe.js; every string is in i18n/<lang>.js.

import { STRINGS, applyStrings, format } from './strings.js';
import { CheckChannel, Verdict, reserve, run, socketUrl } from './check-probe.js';

const $ = (id) => document.getElementById(id);
const TRANSPORTS = ['udp', 'tcp', 'relay'];
const LINES = ['signalling', ...TRANSPORTS];

/** Strings by line and verdict: the explanation shown under a line (and in the report). */
const DETAILS = {
  signalling: { works: 'checkSignallingWorks', blocked: 'checkSignallingBlocked' },
  udp: { works: 'checkUdpWorks', blocked: 'checkUdpBlocked', not_offered: 'checkUdpNotOffered' },
  tcp: { works: 'checkTcpWorks', blocked: 'checkTcpBlocked', not_offered: 'checkTcpNotOffered' },
  relay: { works: 'checkRelayWorks', blocked: 'checkRelayBlocked', not_offered: 'checkRelayNotOffered' },
};
const STATUS = {
  pending: 'checkPending',
  works: 'checkWorks',
  blocked: 'checkBlocked',
  not_offered: 'checkNotOffered',
  not_tested: 'checkNotTested',
};
const NAMES = { signalling: 'checkSignalling', udp: 'checkUdp', tcp: 'checkTcp', relay: 'checkRelay' };

/** What the page found, by line: `{verdict, detail}`. */
let found = {};

function lineOf(name) {
  return document.querySelector(`[data-line="${name}"]`);
}

function explain(name, result, host) {
  if (result.verdict === Verdict.NOT_TESTED) {
    return result.message ? format(STRINGS.checkNotTestedBecause, { message: result.message }) : STRINGS.checkNotTestedNoAnswer;
  }
  if (result.reason === 'relay_unreachable') return format(STRINGS.checkRelayUnreachable, { where: result.where });
  const key = DETAILS[name][result.verdict];
  return key ? format(STRINGS[key], { where: result.where || host, host }) : '';
}

function show(name, result, host) {
  const line = lineOf(name);
  const status = line.querySelector('.check-status');
  status.dataset.status = result.verdict;
  status.textContent = STRINGS[STATUS[result.verdict]];
  const detail = result.verdict === 'pending' ? '' : explain(name, result, host);
  line.querySelector('.check-detail').textContent = detail;
  found[name] = { verdict: result.verdict, detail };
}

function summary() {
  const works = (name) => found[name]?.verdict === Verdict.WORKS;
  if (!works('signalling')) return STRINGS.checkSummaryNoServer;
  if (works('udp')) return STRINGS.checkSummaryBest;
  const via = ['tcp', 'relay'].filter(works).map((name) => STRINGS[name === 'tcp' ? 'checkViaTcp' : 'checkViaRelay']);
  if (via.length > 0) return format(STRINGS.checkSummaryFallback, { how: via.join(' / ') });
  return STRINGS.checkSummaryNone;
}

function report(host) {
  const lines = [format(STRINGS.checkReportHeader, { host, when: new Date().toISOString() })];
  for (const name of LINES) {
    const { verdict, detail } = found[name] ?? { verdict: Verdict.NOT_TESTED, detail: '' };
    lines.push(`- ${STRINGS[NAMES[name]]}: ${STRINGS[STATUS[verdict]]}${detail ? ` (${detail})` : ''}`);
  }
  return lines.join('\n');
}

async function check() {
  const host = location.host;
  found = {};
  $('check-again').disabled = true;
  $('check-summary').hidden = true;
  for (const name of LINES) show(name, { verdict: 'pending' }, host);
  const channel = new CheckChannel(socketUrl(location));
  if (!(await channel.open())) {
    show('signalling', { verdict: Verdict.BLOCKED }, host);
    for (const name of TRANSPORTS) show(name, { verdict: Verdict.NOT_TESTED }, host);
  } else {
    // Probes are asked for one by one (a refusal names no probe), then tried side by side.
    const runs = [];
    for (const transport of TRANSPORTS) {
      const reply = await reserve(channel, transport);
      if (transport === TRANSPORTS[0]) {
        const reached = reply.ready || reply.verdict !== Verdict.NOT_TESTED || reply.reason === 'busy';
        show('signalling', { verdict: reached ? Verdict.WORKS : Verdict.BLOCKED }, host);
      }
      const result = reply.ready ? run(channel, reply.ready) : Promise.resolve(reply);
      runs.push(result.then((r) => show(transport, r, host)));
    }
    await Promise.all(runs);
    // Frees whatever the server still holds for this page at once.
    channel.close();
  }
  $('check-summary').textContent = summary();
  $('check-summary').hidden = false;
  $('check-report').textContent = report(host);
  $('check-report-section').hidden = false;
  $('check-again').disabled = false;
  document.body.dataset.checked = 'true';
}

applyStrings(document);
$('check-again').addEventListener('click', () => {
  delete document.body.dataset.checked;
  check();
});
check();

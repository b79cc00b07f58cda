// The class page (/class/<room>?token=<token>[&prejoin=0]): pre-join screen, then the class.
// Wire format lives in protocol.js, peer connection handling in media.js, tiles in tiles.js;
// every user-visible string in strings.js.

import { STRINGS, applyStrings, format } from './strings.js';
import { ClassroomConnection, FATAL_ERROR_CODES, socketUrl } from './protocol.js';
import { MediaSession } from './media.js';
import { diagnoseConnection } from './ice-diagnosis.js';
import { LocalMedia } from './local-media.js';
import { Prejoin } from './prejoin.js';
import { deviceId, nameProblem, storedName } from './identity.js';
import { Layout } from './layout.js';
import { Tile } from './tiles.js';
import { VideoQualityRequests } from './video-quality.js';
import { VideoPauses } from './video-pauses.js';
import { watchQuality } from './quality.js';
import { ClassControls } from './class-controls.js';
import { Reconnector } from './reconnect.js';
import { Relays, iceTransportPolicyFrom } from './relays.js';

const LEAVE_TIMEOUT_MS = 3000;
// Errors that mean this link will not work however often it is retried.
const LINK_ERRORS = new Set(['bad_token', 'token_expired', 'no_such_room', 'barred']);
// Errors that refuse our offer: the pending offer is rolled back (the session goes on as it was).
const OFFER_REFUSED_CODES = new Set([
  'bad_sdp',
  'no_usable_codec',
  'sdp_too_large',
  'too_many_tracks',
  'offer_rate_limited',
]);
/** How long a shown speaker highlight lasts without a new `active_speaker`. */
const SPEAKER_HIGHLIGHT_MS = 2500;
// Errors that point at a bug on one side; logged, not shown.
const QUIET_ERRORS = new Set([
  'bad_json',
  'unknown_type',
  'bad_message',
  'not_joined',
  'already_joined',
  'unexpected_answer',
  'binary_not_supported',
  'no_such_participant',
]);

const $ = (id) => document.getElementById(id);

/**
 * The page's state, also read by the tests: `participants` holds the *others* by id (`you` is
 * this participant), `tracks` maps a receiving mid to `{participant, kind, track}`, `pc` is the
 * RTCPeerConnection once joined.
 */
const classroom = {
  state: 'prejoin',
  you: null,
  participants: new Map(),
  tracks: new Map(),
  pc: null,
};
window.classroom = classroom;

const link = parseLink(window.location);
const local = new LocalMedia();
const prejoin = new Prejoin(local, (name) => startJoin(name), () => classroom.state === 'prejoin');
let connection = null;
let session = null;
let stopQuality = () => {};
let ended = false;
/** participant id → Tile, self included. */
const tiles = new Map();
/** Asks the server for each classmate's camera at the size its tile is shown. */
const videoQuality = new VideoQualityRequests(
  (participant, quality) => connection?.sendVideoQuality(participant, quality) ?? false,
);
const layout = new Layout({
  stage: $('stage'),
  grid: $('grid'),
  pager: { root: $('pager'), previous: $('page-previous'), next: $('page-next'), label: $('page-label') },
  pageLabel: (page, pages) => format(STRINGS.pageOf, { page, pages }),
});
layout.onChange = () => relayout();
/**
 * The classmates' videos the server stopped sending us (`video_paused`), kept apart from the
 * tiles: a pause may come before its tile exists, and each new tile starts from it.
 */
const videoPauses = new VideoPauses();
const controls = new ClassControls(classroom, () => connection);
/** Brings the signalling session back after the socket dropped (see reconnect.js). */
const reconnector = new Reconnector({
  connect: () => openConnection(),
  resume: (conn) => conn.resume({ room: link.room, token: classroom.resumeToken, lastChatSeq: controls.chat.lastSeq }),
  onWaiting: (waiting) => {
    $('reconnect-banner').hidden = !waiting;
    setState(waiting ? 'reconnecting' : 'joined');
  },
  onGiveUp: () => endSession('error', STRINGS.connectionLost, { rejoin: true }),
});
let screenTrack = null;
let speakerTimer = null;
/** The TURN relays the server gives us, kept fresh; `?ice=relay` uses nothing else. */
const relays = new Relays({
  requestFresh: () => connection?.requestIceServers(),
  onChange: (servers) => session?.setIceServers(servers),
});
const iceTransportPolicy = iceTransportPolicyFrom(window.location);

/** Room, token and the prejoin flag from the page URL, or null if the link is malformed. */
function parseLink(location) {
  const segments = location.pathname.split('/').filter((s) => s !== '');
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  if (segments.length < 2 || segments[0] !== 'class' || !token) return null;
  let room;
  try {
    room = decodeURIComponent(segments[segments.length - 1]);
  } catch {
    return null;
  }
  return { room, token, prejoin: params.get('prejoin') !== '0' };
}

function setState(state) {
  classroom.state = state;
  document.body.dataset.state = state;
}

function showScreen(id) {
  for (const screen of document.querySelectorAll('.screen')) screen.hidden = screen.id !== id;
}

/**
 * Shows `text` on the status screen; `alert` (errors) makes it a role="alert" element, so that
 * assistive technology announces it at once rather than politely.
 */
function showStatus(text, { rejoin = false, home = false, alert = false } = {}) {
  showScreen('status-screen');
  const status = $('status-text');
  if (alert) status.setAttribute('role', 'alert');
  else status.removeAttribute('role');
  status.textContent = text;
  $('rejoin').hidden = !rejoin;
  $('rejoin').href = window.location.href;
  $('home').hidden = !home;
}

function showPrejoin(nameError = '') {
  setState('prejoin');
  showScreen('prejoin-screen');
  return prejoin.show(nameError);
}

// ---- Joining and the class -----------------------------------------------------------------

async function startJoin(name) {
  setState('joining');
  showStatus(STRINGS.joining);
  if (connection && connection.isOpen) {
    // Joining again on the same socket after the server refused the name. The device id goes
    // with every join: without it a barred pupil would get back in by retyping a name.
    classroom.name = name;
    connection.join({ room: link.room, token: link.token, name, device: deviceId() });
    return;
  }
  try {
    await openConnection();
  } catch (error) {
    console.warn('classroom:', error.message);
    // socket-close already ended the session.
    return;
  }
  classroom.name = name;
  connection.join({ room: link.room, token: link.token, name, device: deviceId() });
}

/** Opens a new signalling socket, wired to the page, as `connection`. */
async function openConnection() {
  connection = new ClassroomConnection(socketUrl(window.location));
  wireConnection(connection);
  await connection.open();
  return connection;
}


function wireConnection(conn) {
  conn.on('welcome', onWelcome);
  conn.on('answer', (msg) => session?.handleAnswer(msg));
  conn.on('offer', (msg) => session?.handleOffer(msg));
  conn.on('track_added', (msg) => session?.trackAdded(msg));
  conn.on('track_removed', (msg) => session?.trackRemoved(msg));
  conn.on('participant_joined', (msg) => addParticipant(msg.participant));
  conn.on('participant_left', (msg) => removeParticipant(msg.id));
  conn.on('participant_updated', (msg) => updateParticipant(msg.participant));
  conn.on('rights', (msg) => applyRights(msg.rights));
  conn.on('settings', (msg) => controls.settings(msg.settings));
  conn.on('hands', (msg) => controls.hands(msg.queue));
  conn.on('chat', (msg) => controls.chatEntry(msg));
  conn.on('lobby', (msg) => controls.lobby(msg.waiting));
  conn.on('lobby_waiting', onLobbyWaiting);
  conn.on('reconnecting', (msg) => markReconnecting(msg.id, true));
  conn.on('reconnected', (msg) => markReconnecting(msg.id, false));
  conn.on('resumed', onResumed);
  conn.on('ice_servers', (msg) => relays.update(msg));
  conn.on('active_speaker', (msg) => showSpeaker(msg.participant));
  conn.on('video_paused', (msg) => showPause(videoPauses.paused(msg)));
  conn.on('video_resumed', (msg) => showPause(videoPauses.resumed(msg)));
  conn.on('error', onServerError);
  conn.on('bye', onBye);
  conn.on('socket-close', (info) => {
    if (conn !== connection || ended) return;
    console.warn(`classroom: signalling socket closed (code ${info.code})`);
    // Back on the pre-join screen (a refused name being retyped), the server closes a socket
    // that has not joined within its join deadline (4010): nothing is lost, and the next join
    // opens a new socket.
    if (classroom.state === 'prejoin') return;
    // A class we were in survives a dropped socket for a grace period: try to resume.
    if ((classroom.state === 'joined' || classroom.state === 'reconnecting') && classroom.resumeToken) {
      reconnector.start();
    } else if (classroom.state !== 'reconnecting') {
      endSession('error', STRINGS.connectionLost, { rejoin: true });
    }
  });
  conn.on('protocol-violation', (info) => console.warn(`classroom: ignored a server frame: ${info.problem}`));
  for (const type of ['welcome', 'answer', 'offer', 'track_added', 'track_removed', 'participant_joined',
    'participant_left', 'participant_updated', 'video_paused', 'video_resumed', 'error', 'bye']) {
    conn.on(type, (msg) => console.debug(`classroom: <- ${type}`, summarize(msg)));
  }
}

function summarize(msg) {
  const { sdp, ...rest } = msg;
  return JSON.stringify(sdp === undefined ? rest : { ...rest, sdp: `${sdp.length} bytes` });
}

function onLobbyWaiting() {
  setState('lobby');
  showStatus(STRINGS.lobbyWaiting);
}

function onWelcome(msg) {
  if (classroom.state !== 'joining' && classroom.state !== 'lobby') return;
  classroom.you = msg.you;
  classroom.room = msg.room;
  classroom.resumeToken = msg.resume_token ?? null;
  relays.update(msg);
  prejoin.hide();
  // An observer only receives (the server refuses an offer that would send): the camera and mic
  // opened before joining, when the role was not known yet, are let go.
  const observing = msg.you.role === 'observer';
  if (observing) local.release();
  // Pupils come in with their microphone off (a class of thirty open mics is noise); they turn it
  // on when they have something to say.
  if (msg.you.role === 'pupil') {
    const mic = local.track('audio');
    if (mic) mic.enabled = false;
  }
  showScreen('class-screen');

  const selfTile = new Tile(msg.you, { self: true });
  tiles.set(msg.you.id, selfTile);
  selfTile.setTrack('video', local.track('video'));
  for (const participant of msg.participants) addParticipant(participant);
  updateCount();
  controls.snapshot(msg);

  startMedia();
  setupControls();
  applyRights(msg.you.rights);
  const message = observing ? STRINGS.observing : local.message();
  if (message) showNotice(message);
  setState('joined');
}

/** The media session through whichever socket is current (it changes when we reconnect). */
const signal = {
  sendOffer: (sdp, sources) => connection.sendOffer(sdp, sources),
  sendAnswer: (sdp) => connection.sendAnswer(sdp),
};

function startMedia() {
  stopQuality();
  session = new MediaSession({ signal, stream: local.stream, iceServers: relays.servers, iceTransportPolicy });
  classroom.pc = session.pc;
  classroom.tracks = session.tracks;
  session.addEventListener('track', ({ detail }) => {
    const tile = detail.source === 'screen' ? screenTile(detail.participant) : tiles.get(detail.participant);
    if (tile) tile.setTrack(detail.kind, detail.track);
    else console.warn(`classroom: a track for unknown participant ${detail.participant}`);
    if (detail.source === 'screen') relayout();
  });
  session.addEventListener('track-ended', ({ detail }) => {
    if (detail.source === 'screen') {
      videoPauses.forget(detail.participant, 'screen');
      removeTile(`${detail.participant}/screen`);
      relayout();
      return;
    }
    const tile = tiles.get(detail.participant);
    if (!tile || tile.track(detail.kind) !== detail.track) return;
    tile.setTrack(detail.kind, null);
    // The pause was about the track that ended; the next one starts unpaused unless the server
    // says otherwise.
    if (detail.kind === 'video') {
      videoPauses.forget(detail.participant, detail.source);
      showPause(detail.participant);
    }
  });
  session.addEventListener('connection-state', async ({ detail }) => {
    console.debug(`classroom: media connection ${detail.state}`);
    if (detail.state === 'failed') {
      const pc = session.pc;
      const why = await explainMediaFailure(pc);
      if (session?.pc === pc && pc.connectionState === 'failed') showMediaFailure(why);
    } else if (detail.state === 'connected') {
      hideMediaFailure();
    }
  });
  session.start();
  stopQuality = watchQuality(session.pc, session.tracks, classroom.you.id, (marks) => {
    for (const [id, tile] of tiles) tile.setQuality(marks.get(id) ?? 'unknown');
  });
}

/** The tile showing `participant`'s shared screen (made on first use). */
function screenTile(participant) {
  const id = `${participant}/screen`;
  let tile = tiles.get(id);
  const owner = classroom.participants.get(participant);
  if (!tile && owner) {
    tile = new Tile({ ...owner, id }, { screen: true, onAutoplayBlocked });
    tile.setPaused(videoPauses.reason(id));
    tiles.set(id, tile);
  }
  return tile;
}

/** Shows on tile `id` (if there is one) whether the server pauses its video for us now. */
function showPause(id) {
  if (id !== null) tiles.get(id)?.setPaused(videoPauses.reason(id));
}

/** Forgets every pause (they may be stale or about a media session gone) and shows the videos. */
function forgetPauses() {
  for (const id of videoPauses.clear()) showPause(id);
}

function removeTile(id) {
  const tile = tiles.get(id);
  if (!tile) return;
  if (!id.endsWith('/screen')) videoQuality.unwatch(tile.element);
  tile.remove();
  tiles.delete(id);
}

function addParticipant(participant) {
  if (!classroom.you || participant.id === classroom.you.id) return;
  classroom.participants.set(participant.id, participant);
  let tile = tiles.get(participant.id);
  if (tile) {
    tile.update(participant);
  } else {
    tile = new Tile(participant, { onAutoplayBlocked, onPin: togglePin });
    tile.setPaused(videoPauses.reason(participant.id));
    tiles.set(participant.id, tile);
    videoQuality.watch(participant.id, tile.element);
  }
  updateCount();
}

function togglePin(id) {
  layout.pinned = layout.pinned === id ? null : id;
  for (const [tileId, tile] of tiles) tile.setPinned(tileId === layout.pinned);
  relayout();
}

/** Puts every tile where it belongs: self first, then teachers, then the others by arrival. */
function relayout() {
  if (!classroom.you) return;
  const rank = (id, tile) => (id === classroom.you.id ? 0 : tile.participant.role === 'teacher' ? 1 : 2);
  const entries = [...tiles]
    .map(([id, tile], order) => ({ id, tile, order }))
    .sort((a, b) => rank(a.id, a.tile) - rank(b.id, b.tile) || a.order - b.order)
    .map(({ id, tile }) => ({
      id,
      role: tile.participant.role,
      self: id === classroom.you.id,
      screen: id.endsWith('/screen'),
      element: tile.element,
    }));
  layout.render(entries, classroom.you.role);
}

function removeParticipant(id) {
  classroom.participants.delete(id);
  videoPauses.forgetParticipant(id);
  removeTile(id);
  removeTile(`${id}/screen`);
  if (layout.pinned === id) layout.pinned = null;
  updateCount();
}

function updateParticipant(participant) {
  if (classroom.you && participant.id === classroom.you.id) {
    const promoted = participant.role !== classroom.you.role;
    classroom.you = { ...classroom.you, ...participant };
    tiles.get(participant.id)?.update(classroom.you);
    if (promoted) relayout();
    controls.render();
    return;
  }
  if (classroom.participants.has(participant.id)) addParticipant(participant);
}

function updateCount() {
  relayout();
  controls.render();
  $('participant-count').textContent = format(STRINGS.participantsCount, { n: classroom.participants.size + 1 });
}

let controlsWired = false;

function setupControls() {
  sendMediaState(true);
  if (controlsWired) return;
  controlsWired = true;
  setupToggle($('toggle-mic'), 'audio');
  setupToggle($('toggle-camera'), 'video');
  $('leave').addEventListener('click', leave);
  $('share-screen').addEventListener('click', toggleScreenShare);
  $('toggle-panel').addEventListener('click', () => {
    const panel = $('side-panel');
    panel.hidden = !panel.hidden;
    $('toggle-panel').setAttribute('aria-pressed', String(!panel.hidden));
    if (!panel.hidden) controls.chat.markRead();
  });
}

/**
 * Follows the rights the server gives us: a right taken away turns that device off here too and
 * disables its button with the reason; a right given back lets the user turn it on again.
 */
function applyRights(rights) {
  if (!rights || !classroom.you) return;
  classroom.you = { ...classroom.you, rights };
  const rules = [
    ['audio', $('toggle-mic'), rights.mic, STRINGS.micNotAllowed],
    ['video', $('toggle-camera'), rights.camera, STRINGS.cameraNotAllowed],
  ];
  let changed = false;
  for (const [kind, button, allowed, reason] of rules) {
    const track = local.track(kind);
    if (!allowed && track?.enabled) {
      track.enabled = false;
      changed = true;
    }
    button.disabled = track === null || !allowed;
    button.setAttribute('aria-pressed', String(track !== null && track.enabled));
    button.title = allowed ? '' : reason;
    if (allowed) button.removeAttribute('aria-description');
    else button.setAttribute('aria-description', reason);
  }
  const share = $('share-screen');
  share.hidden = !rights.screen || typeof navigator.mediaDevices?.getDisplayMedia !== 'function';
  if (!rights.screen && screenTrack) stopScreenShare();
  if (changed) sendMediaState(false);
  controls.render();
}

async function toggleScreenShare() {
  if (screenTrack) {
    stopScreenShare();
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    screenTrack = stream.getVideoTracks()[0] ?? null;
  } catch (error) {
    // The user closed the browser's picker: nothing to say.
    if (error.name !== 'NotAllowedError') showNotice(format(STRINGS.screenFailed, { message: error.message }));
    return;
  }
  if (!screenTrack) return;
  // The browser's own "Stop sharing" bar ends the track.
  screenTrack.addEventListener('ended', () => stopScreenShare());
  await session.startScreen(screenTrack);
  $('share-screen').setAttribute('aria-pressed', 'true');
  sendMediaState(false);
}

function stopScreenShare() {
  if (!screenTrack) return;
  screenTrack.stop();
  screenTrack = null;
  session?.stopScreen();
  $('share-screen').setAttribute('aria-pressed', 'false');
  sendMediaState(false);
}

function markReconnecting(id, reconnecting) {
  const participant = classroom.participants.get(id);
  if (!participant) return;
  classroom.participants.set(id, { ...participant, reconnecting });
  tiles.get(id)?.element.classList.toggle('reconnecting', reconnecting);
  controls.render();
}

/** The server let us back in after a dropped socket: catch up, then mend the media if needed. */
function onResumed(msg) {
  reconnector.succeeded();
  classroom.you = msg.you;
  classroom.resumeToken = msg.resume_token ?? classroom.resumeToken;
  relays.update(msg);
  const present = new Set(msg.participants.map((p) => p.id));
  for (const id of [...classroom.participants.keys()]) if (!present.has(id)) removeParticipant(id);
  for (const participant of msg.participants) addParticipant(participant);
  tiles.get(msg.you.id)?.update(msg.you);
  controls.snapshot(msg);
  applyRights(msg.you.rights);
  // Wishes made while the socket was down were not sent; the server kept the others.
  videoQuality.flush();
  // A `video_resumed` sent while the socket was down is lost: a pause still believed in would hide
  // a video that flows again. The server follows `resumed` with a `video_paused` for each video
  // still paused for us (docs/PROTOCOL.md).
  forgetPauses();
  if (msg.media === 'restart') {
    // The server freed our media session meanwhile: a new one, with every track announced again.
    for (const [id, tile] of tiles) if (id.endsWith('/screen')) removeTile(id);
    for (const tile of tiles.values()) if (tile !== tiles.get(msg.you.id)) tile.setTrack('video', null);
    session?.close();
    startMedia();
    if (screenTrack) session.startScreen(screenTrack);
  } else {
    session?.restartIce();
  }
  sendMediaState(false);
}

function showSpeaker(id) {
  for (const [tileId, tile] of tiles) tile.element.classList.toggle('speaking', tileId === id);
  clearTimeout(speakerTimer);
  speakerTimer = setTimeout(() => {
    for (const tile of tiles.values()) tile.element.classList.remove('speaking');
  }, SPEAKER_HIGHLIGHT_MS);
}

function setupToggle(button, kind) {
  const track = local.track(kind);
  button.disabled = track === null;
  button.setAttribute('aria-pressed', String(track !== null && track.enabled));
  button.addEventListener('click', () => {
    const current = local.track(kind);
    if (!current || classroom.state !== 'joined') return;
    current.enabled = !current.enabled;
    button.setAttribute('aria-pressed', String(current.enabled));
    sendMediaState(false);
  });
}

/** Tells the server the mic/camera state; on join only if it differs from what the server assumes. */
function sendMediaState(onlyIfDifferent) {
  const audio = local.track('audio')?.enabled === true;
  const video = local.track('video')?.enabled === true;
  const screen = screenTrack !== null;
  const you = classroom.you;
  if (onlyIfDifferent && you && you.audio === audio && you.video === video && Boolean(you.screen) === screen) return;
  connection.sendMediaState({ audio, video, screen });
  classroom.you = { ...you, audio, video, screen };
  tiles.get(you.id)?.update(classroom.you);
}

function leave() {
  if (classroom.state !== 'joined') return;
  $('leave').disabled = true;
  for (const track of local.stream.getTracks()) track.stop();
  connection.leave();
  // The server says `bye`; if it does not in time, leave anyway.
  setTimeout(() => {
    if (!ended) endSession('left', STRINGS.byeLeft, { rejoin: true });
  }, LEAVE_TIMEOUT_MS);
}

function onBye({ reason }) {
  switch (reason) {
    case 'left':
      endSession('left', STRINGS.byeLeft, { rejoin: true });
      break;
    case 'shutting_down':
      endSession('left', STRINGS.byeShuttingDown, { rejoin: true });
      break;
    case 'media_failed':
      // Read why from the connection before the session closes it.
      explainMediaFailure(session?.pc).then((why) =>
        endSession('error', `${STRINGS.byeMediaFailed} ${why}`, { rejoin: true }),
      );
      break;
    case 'kicked':
      endSession('error', STRINGS.byeKicked, { home: true });
      break;
    case 'class_ended':
      endSession('left', STRINGS.byeClassEnded, { home: true });
      break;
    case 'denied':
      endSession('error', STRINGS.byeDenied, { home: true });
      break;
    case 'replaced':
      endSession('left', STRINGS.byeReplaced, {});
      break;
    default:
      endSession('left', format(STRINGS.byeOther, { reason }), { rejoin: true });
  }
}

function onServerError({ code, message }) {
  const text = format(STRINGS.errors[code] ?? STRINGS.errors.other, { code, message });
  if (code === 'bad_resume_token' && reconnector.active) {
    // The server no longer knows us (it restarted, or the grace period ran out): join afresh.
    reconnector.succeeded();
    rejoinFresh();
  } else if (code === 'renegotiation_busy') {
    session?.handleBusy();
  } else if (code === 'bad_name' && classroom.state === 'joining') {
    showPrejoin(text);
  } else if (FATAL_ERROR_CODES.has(code)) {
    const linkBroken = LINK_ERRORS.has(code);
    endSession('error', text, { rejoin: !linkBroken, home: linkBroken });
  } else if (OFFER_REFUSED_CODES.has(code)) {
    session?.handleOfferRefused();
    showNotice(text);
  } else if (QUIET_ERRORS.has(code)) {
    console.warn(`classroom: server error ${code}: ${message}`);
  } else {
    showNotice(text);
  }
}

/** Joins again from scratch on a new socket, keeping our devices (the page keeps working). */
function rejoinFresh() {
  stopQuality();
  session?.close();
  session = null;
  screenTrack?.stop();
  screenTrack = null;
  for (const tile of tiles.values()) tile.remove();
  tiles.clear();
  videoPauses.clear();
  classroom.participants.clear();
  classroom.you = null;
  classroom.resumeToken = null;
  setState('joining');
  showStatus(STRINGS.joining);
  connection.join({ room: link.room, token: link.token, name: classroom.name ?? STRINGS.defaultName, device: deviceId() });
}

/** Ends the session for good: media stopped, socket closed, a message and a way back. */
function endSession(state, text, options = {}) {
  if (ended) return;
  ended = true;
  reconnector.stop();
  relays.stop();
  stopQuality();
  session?.close();
  screenTrack?.stop();
  for (const track of local.stream.getTracks()) track.stop();
  for (const tile of tiles.values()) tile.remove();
  tiles.clear();
  videoPauses.clear();
  connection?.close();
  prejoin.hide();
  setState(state);
  showStatus(text, { ...options, alert: state === 'error' });
}

// ---- Notices -------------------------------------------------------------------------------

function showNotice(text) {
  $('class-notice-text').textContent = text;
  $('check-network').hidden = true;
  $('class-notice').hidden = false;
}

function hideNotice(ifText) {
  if ($('class-notice-text').textContent === ifText) $('class-notice').hidden = true;
}

/** The media-failure notice shown, if any (hidden again once the connection recovers). */
let mediaFailureShown = null;

/** What failed in the media connection `pc`, in words, from its own stats (see ice-diagnosis.js). */
async function explainMediaFailure(pc) {
  if (!pc) return STRINGS.mediaFailed;
  try {
    const { reason, server } = await diagnoseConnection(pc);
    return format(STRINGS.mediaFailure[reason], { server });
  } catch (error) {
    console.warn('classroom: could not read why the media connection failed', error);
    return STRINGS.mediaFailed;
  }
}

function showMediaFailure(text) {
  mediaFailureShown = text;
  showNotice(text);
  // What failed is named above; the network check tells which transports get through from here.
  $('check-network').hidden = false;
}

function hideMediaFailure() {
  if (mediaFailureShown !== null) hideNotice(mediaFailureShown);
  mediaFailureShown = null;
}

function onAutoplayBlocked() {
  showNotice(STRINGS.soundBlocked);
  $('enable-sound').hidden = false;
}

function enableSound() {
  for (const tile of tiles.values()) tile.resume();
  $('enable-sound').hidden = true;
  hideNotice(STRINGS.soundBlocked);
}

// ---- Start ---------------------------------------------------------------------------------

async function main() {
  applyStrings(document);
  setState('prejoin');
  $('enable-sound').addEventListener('click', enableSound);
  window.addEventListener('pagehide', () => {
    if (classroom.state === 'joined') connection?.leave();
  });

  if (!link) {
    setState('error');
    showStatus(STRINGS.badLink, { home: true, alert: true });
    return;
  }
  if (link.prejoin) {
    await showPrejoin();
    return;
  }
  showStatus(STRINGS.askingDevices);
  await local.acquire();
  const name = storedName().trim();
  startJoin(name && !nameProblem(name) ? name : STRINGS.defaultName);
}

main().catch((error) => {
  console.error('classroom: failed to start', error);
  setState('error');
  showStatus(format(STRINGS.errors.other, { code: 'client', message: error.message }), { rejoin: true, alert: true });
});

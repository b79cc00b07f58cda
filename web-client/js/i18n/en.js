// English: the reference catalogue. Every other language has exactly the same keys (a test checks).

export const EN = {
  appName: 'Classroom',

  // Landing page
  landingTitle: 'Classroom',
  landingIntro:
    'A virtual classroom that runs on your own server. Create a class, keep the teacher link for ' +
    'yourself, and share the pupil link with your class.',
  landingPrivacy:
    'Nothing leaves this server: no tracker, no external font, no third-party service. ' +
    'Whoever has a link can join with it, so share each link only with the people it is meant for.',
  createClass: 'Create a class',
  creating: 'Creating…',
  teacherLink: 'Teacher link',
  teacherLinkHelp: 'Keep this one for yourself: it joins as teacher.',
  pupilLink: 'Pupil link',
  pupilLinkHelp: 'Share this one with your pupils.',
  observerLink: 'Observer link',
  observerLinkHelp: 'For a visitor who only watches and listens: an inspector, a colleague.',
  copy: 'Copy',
  copied: 'Copied',
  copyFailed: 'Select the link and copy it by hand',
  copyTeacherLink: 'Copy teacher link',
  copyPupilLink: 'Copy pupil link',
  copyObserverLink: 'Copy observer link',
  createFailed: 'The class could not be created: {message}',
  createFailedNetwork: 'The server could not be reached. Check your connection and try again.',
  adminKeyLabel: 'Admin key',
  adminKeyHelp: 'This server asks for its admin key to create a class. Ask whoever runs the server for it.',
  createWithKey: 'Create with this key',

  // Network check page (/check), and the links to it
  checkNetworkLanding: 'Will classes work from your network? Check it here.',
  checkNetworkLink: 'Check this network',
  checkTitle: 'Network check',
  checkIntro:
    'This page tries each way audio and video can reach the class server from where you are, and says ' +
    'what works. It sends no camera or microphone: nothing is recorded.',
  checkSignalling: 'Connection to the server (web page and WebSocket)',
  checkUdp: 'Audio and video over UDP (best)',
  checkTcp: 'Audio and video over TCP',
  checkRelay: 'Audio and video through the relay (TURN)',
  checkPending: 'Checking…',
  checkWorks: 'Works',
  checkBlocked: 'Blocked',
  checkNotOffered: 'Not offered by this server',
  checkNotTested: 'Not tested',
  checkSignallingWorks: 'The page reached {host}.',
  checkSignallingBlocked:
    'The page could not open its WebSocket to {host}. Ask your IT staff to allow HTTPS and WebSocket ' +
    'to this server (a filtering proxy may be in the way).',
  checkUdpWorks: 'Media reached {where} over UDP.',
  checkUdpBlocked:
    'Nothing reached {where} over UDP. Ask your IT staff to allow outgoing UDP to the server’s media ports.',
  checkUdpNotOffered: 'This server offered no UDP address.',
  checkTcpWorks: 'Media reached {where} over TCP.',
  checkTcpBlocked: 'Nothing reached {where} over TCP. Ask your IT staff to allow outgoing TCP to that port.',
  checkTcpNotOffered: 'This server does not take media over TCP.',
  checkRelayWorks: 'Media went through the relay {where}.',
  checkRelayBlocked: 'Media did not get through the relay {where}.',
  checkRelayUnreachable:
    'The relay {where} could not be reached. Ask your IT staff to allow outgoing TCP port 443 (or UDP 3478) to it.',
  checkRelayNotOffered: 'This server has no relay (TURN) configured.',
  checkNotTestedBecause: 'Not tested: {message}',
  checkNotTestedNoAnswer: 'Not tested: the server did not answer.',
  checkViaTcp: 'TCP',
  checkViaRelay: 'the relay (TURN)',
  checkSummaryBest: 'Classes work well from here.',
  checkSummaryFallback:
    'Classes work from here, over {how}. Allowing UDP to the server’s media ports would make sound and video smoother.',
  checkSummaryNone:
    'Audio and video cannot reach the server from this network. Send the report below to your IT staff.',
  checkSummaryNoServer: 'The server cannot be reached from here. Send the report below to your IT staff.',
  checkReportTitle: 'For your IT staff',
  checkReportHelp: 'Copy this and send it to whoever runs your network.',
  checkReportHeader: 'Network check of {host} ({when})',
  checkAgain: 'Check again',

  // Pre-join screen
  prejoinTitle: 'Get ready to join',
  camera: 'Camera',
  microphone: 'Microphone',
  yourName: 'Your name',
  nameHelp: 'Shown to the others in the class (up to 64 characters).',
  nameRequired: 'Enter your name to join.',
  join: 'Join',
  previewLabel: 'Your camera preview',
  noCameraOption: 'No camera',
  noMicrophoneOption: 'No microphone',
  deviceFallbackLabel: '{kind} {n}',
  defaultName: 'Guest',
  micLevel: 'Microphone level: speak to see it move',
  askingDevices: 'Asking for your camera and microphone…',

  // Media problems
  mediaDenied:
    'Your browser blocked the camera and microphone. You can still join, but the others will not see ' +
    'or hear you. To fix it, allow the camera and microphone in the site settings (the icon left of ' +
    'the address) and reload the page.',
  mediaNotFound:
    'No camera or microphone was found. You can still join to watch and listen. Plug one in and ' +
    'reload the page to be seen or heard.',
  mediaInUse:
    'Your camera or microphone is used by another program. Close that program and reload the page, ' +
    'or join without it.',
  mediaInsecure:
    'This page is not served over HTTPS, so the browser does not allow the camera and microphone. ' +
    'You can still join to watch and listen; ask the administrator to serve the site over HTTPS.',
  mediaUnsupported:
    'This browser cannot do video calls. Use a recent Firefox, Chrome, Edge or Safari.',
  mediaOther: 'The camera or microphone could not be started ({message}). You can still join without it.',
  mediaNoCamera: 'No camera is available: the others will hear you but not see you.',
  mediaNoMicrophone: 'No microphone is available: the others will see you but not hear you.',
  observing: 'You are observing: you see and hear the class, and nobody sees or hears you.',

  // Class screen
  joining: 'Joining the class…',
  you: '{name} (you)',
  roleTeacher: 'Teacher',
  rolePupil: 'Pupil',
  micOff: 'Microphone off',
  cameraOff: 'Camera off',
  // On a classmate's tile whose video the server stopped sending to this page (instead of a frozen
  // frame): `bandwidth`, this page's connection cannot take it; `last_n`, only the most important
  // videos are sent, and this is not one of them.
  videoPaused: {
    bandwidth: 'Video paused for your connection',
    last_n: 'Video off to save bandwidth',
  },
  screenPaused: {
    bandwidth: 'Screen share paused for your connection',
    last_n: 'Screen share off to save bandwidth',
  },
  toggleMic: 'Microphone',
  toggleCamera: 'Camera',
  leave: 'Leave',
  participantsCount: '{n} in the class',
  quality: {
    good: 'Connection: good',
    fair: 'Connection: fair (some loss or delay)',
    poor: 'Connection: poor (sound and video may break up)',
    unknown: 'Connection: not measured yet',
  },
  stage: 'Main view',
  pager: 'Pages of participants',
  pagePrevious: 'Previous',
  pageNext: 'Next',
  pageOf: 'Page {page} of {pages}',
  pin: 'Show {name} large',
  unpin: 'Stop showing {name} large',
  participants: 'Participants',
  controls: 'Class controls',
  enableSound: 'Turn on sound',
  soundBlocked: 'The browser paused the sound of the class until you click.',
  mediaFailed: 'The audio and video connection failed.',
  // Why it failed, as the browser's own connection stats tell it ({server}: the server's media address).
  mediaFailure: {
    'no-local-address':
      'The audio and video connection failed: this browser found no network address of its own to use ' +
      '(no network, or a setting or extension that turns WebRTC off).',
    'loopback-only':
      'The audio and video connection failed: the server gives {server} as its media address, a loopback ' +
      'address this browser never connects to. The server must announce an address of its machine (media.public_ip).',
    'no-pair':
      'The audio and video connection failed: none of this browser’s network addresses can reach the ' +
      'server’s media address ({server}).',
    'no-answer':
      'The audio and video connection failed: this browser sent connection checks to the server’s media ' +
      'port ({server}) and got no answer. A firewall may block that traffic; ask the administrator, or try another network.',
    lost: 'The audio and video connection to the server ({server}) worked, then was lost.',
  },
  connectionLost: 'The connection to the server was lost. Reload the page to join again.',
  rejoin: 'Join again',
  backToStart: 'Back to the start page',

  // Class panel: participants, hands, lobby, teacher controls, chat
  sidePanel: 'Participants and chat',
  panelToggle: 'People & chat',
  roleObserver: 'Observer',
  sharingScreen: 'Sharing the screen',
  reconnectingShort: 'Reconnecting…',
  handPosition: 'Hand raised, {n} in line',
  raiseHand: 'Raise hand',
  lowerHandPlace: 'Lower hand ({place} in line)',
  ordinalFirst: '{n}st',
  ordinalOther: '#{n}',
  admit: 'Admit',
  admitNamed: 'Let {name} in',
  deny: 'Refuse',
  denyNamed: 'Refuse {name}',
  mute: 'Mute',
  muteNamed: 'Mute {name}',
  giveFloor: 'Give the floor',
  giveFloorNamed: 'Give the floor to {name}',
  lowerHand: 'Lower hand',
  lowerHandNamed: 'Lower the hand of {name}',
  cameraOffAction: 'Camera off',
  cameraOffActionNamed: 'Turn off the camera of {name}',
  stopScreen: 'Stop sharing',
  stopScreenNamed: 'Stop the screen share of {name}',
  promote: 'Make co-teacher',
  promoteNamed: 'Make {name} a co-teacher',
  removeMenu: 'Remove…',
  removeMenuNamed: 'Remove {name} from the class…',
  kick: 'Remove',
  kickNamed: 'Remove {name} (they may come back)',
  kickBar: 'Remove and bar',
  kickBarNamed: 'Remove {name} for the rest of the class',
  classControls: 'Class',
  muteAll: 'Mute all pupils',
  lowerAllHands: 'Lower all hands',
  copyInvite: 'Copy pupil link',
  lockRoom: 'Lock the class (no one new gets in)',
  chatEnabled: 'Chat on',
  pupilMicAllowed: 'Pupils may turn their microphone on',
  pupilCameraAllowed: 'Pupils may turn their camera on',
  guestPolicy: 'Newcomers',
  policyAccept: 'Let them in',
  policyAsk: 'Wait in the lobby until I admit them',
  policyDeny: 'Refuse them',
  endClass: 'End the class',
  endClassConfirmText: 'Everyone leaves and the class link stops working.',
  endClassConfirm: 'End it for everyone',
  lobbyTitle: 'Waiting to enter',
  lobbyWaiting: 'You are in the waiting room. The teacher will let you in shortly; keep this page open.',
  chat: 'Chat',
  chatInput: 'Message to the class',
  send: 'Send',
  chatOff: 'The teacher has turned the chat off.',
  chatNotAllowed: 'The teacher has not allowed you to write in the chat.',
  unreadMessages: '{n} unread messages',
  shareScreen: 'Share screen',
  screenOf: 'Screen of {name}',
  screenFailed: 'The screen could not be shared ({message}).',
  micNotAllowed: 'The teacher has turned your microphone off. Raise your hand to ask for the floor.',
  cameraNotAllowed: 'The teacher has turned your camera off.',
  reconnecting: 'Connection lost: reconnecting… You stay in the class meanwhile.',

  // End of session (bye reasons)
  byeLeft: 'You left the class.',
  byeMediaFailed:
    'The server ended the session because the audio and video connection failed. Reload the page to try again.',
  byeShuttingDown: 'The server is restarting. Wait a moment, then reload the page to join again.',
  byeKicked: 'A teacher removed you from the class.',
  byeClassEnded: 'The teacher ended the class. Thank you for taking part!',
  byeDenied: 'The teacher did not let you into the class.',
  byeReplaced: 'You joined this class from another tab or device, so this page left it.',
  byeOther: 'The session ended ({reason}).',

  // Link problems (before talking to the server)
  badLink: 'This link is incomplete: it must look like /class/<room>?token=<token>. Ask for the link again.',

  // Server error codes
  errors: {
    bad_token: 'This link is not valid for this class. Ask your teacher for the link again.',
    token_expired: 'This link has expired. Ask your teacher for a new one.',
    no_such_room: 'This class does not exist or has ended.',
    room_full: 'This class is full. Try again later or ask your teacher.',
    unsupported_version: 'This page is out of date. Reload it (Ctrl+Shift+R) to get the new version.',
    bad_name: 'The server refused this name: {message}. Choose another one.',
    message_too_large: 'A message was too large for the server. Reload the page.',
    no_usable_codec:
      'Your browser and the server have no audio or video format in common. Use a recent Firefox, Chrome, Edge or Safari.',
    bad_sdp: 'The audio and video setup was refused by the server ({message}).',
    forbidden: 'Only a teacher can do that.',
    chat_disabled: 'The chat is off.',
    not_allowed: 'You are not allowed to do that now: {message}',
    bad_target: 'That cannot be done to this participant: {message}',
    room_locked: 'The teacher has locked this class: no one new can enter now.',
    barred: 'A teacher removed you from this class; you cannot come back to it.',
    denied: 'The teacher did not let you into the class.',
    lobby_full: 'Too many people are waiting to enter. Try again in a moment.',
    bad_resume_token: 'The class could not be resumed; joining again.',
    bad_chat: 'The message was not sent: {message}',
    rate_limited: 'You are sending too fast; wait a moment.',
    other: 'The server reported a problem: {message} ({code}).',
  },
};

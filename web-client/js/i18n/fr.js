// Français : mêmes clés que `en.js` (un test le vérifie). Le tutoiement est évité : les élèves comme
// les enseignants lisent ces textes.

export const FR = {
  appName: 'Classe virtuelle',

  // Landing page
  landingTitle: 'Classe virtuelle',
  landingIntro:
    'Une classe virtuelle qui tourne sur votre propre serveur. Créez une classe, gardez le lien ' +
    'enseignant pour vous et partagez le lien élève avec votre classe.',
  landingPrivacy:
    'Rien ne quitte ce serveur : aucun traceur, aucune police externe, aucun service tiers. ' +
    'Toute personne qui a un lien peut entrer avec : ne partagez chaque lien qu’avec les personnes concernées.',
  createClass: 'Créer une classe',
  creating: 'Création…',
  teacherLink: 'Lien enseignant',
  teacherLinkHelp: 'Gardez-le pour vous : il fait entrer en tant qu’enseignant.',
  pupilLink: 'Lien élève',
  pupilLinkHelp: 'Partagez celui-ci avec vos élèves.',
  observerLink: 'Lien observateur',
  observerLinkHelp: 'Pour un visiteur qui regarde et écoute seulement : un inspecteur, un collègue.',
  copy: 'Copier',
  copied: 'Copié',
  copyFailed: 'Sélectionnez le lien et copiez-le à la main',
  copyTeacherLink: 'Copier le lien enseignant',
  copyPupilLink: 'Copier le lien élève',
  copyObserverLink: 'Copier le lien observateur',
  createFailed: 'La classe n’a pas pu être créée : {message}',
  createFailedNetwork: 'Le serveur est injoignable. Vérifiez votre connexion et réessayez.',
  adminKeyLabel: 'Clé d’administration',
  adminKeyHelp:
    'Ce serveur demande sa clé d’administration pour créer une classe. Demandez-la à la personne qui gère le serveur.',
  createWithKey: 'Créer avec cette clé',

  // Page de test du réseau (/check), et les liens vers elle
  checkNetworkLanding: 'Les classes passent-elles depuis votre réseau ? Vérifiez-le ici.',
  checkNetworkLink: 'Tester ce réseau',
  checkTitle: 'Test du réseau',
  checkIntro:
    'Cette page essaie chacun des chemins par lesquels le son et l’image peuvent atteindre le serveur de ' +
    'classe depuis l’endroit où vous êtes, et dit ce qui fonctionne. Elle n’envoie ni caméra ni micro : ' +
    'rien n’est enregistré.',
  checkSignalling: 'Connexion au serveur (page web et WebSocket)',
  checkUdp: 'Son et image en UDP (le meilleur)',
  checkTcp: 'Son et image en TCP',
  checkRelay: 'Son et image par le relais (TURN)',
  checkPending: 'Test en cours…',
  checkWorks: 'Fonctionne',
  checkBlocked: 'Bloqué',
  checkNotOffered: 'Non proposé par ce serveur',
  checkNotTested: 'Non testé',
  checkSignallingWorks: 'La page a joint {host}.',
  checkSignallingBlocked:
    'La page n’a pas pu ouvrir son WebSocket vers {host}. Demandez à votre service informatique d’autoriser ' +
    'HTTPS et WebSocket vers ce serveur (un proxy filtrant peut bloquer).',
  checkUdpWorks: 'Le son et l’image ont atteint {where} en UDP.',
  checkUdpBlocked:
    'Rien n’a atteint {where} en UDP. Demandez à votre service informatique d’autoriser l’UDP sortant vers ' +
    'les ports média du serveur.',
  checkUdpNotOffered: 'Ce serveur n’a proposé aucune adresse UDP.',
  checkTcpWorks: 'Le son et l’image ont atteint {where} en TCP.',
  checkTcpBlocked:
    'Rien n’a atteint {where} en TCP. Demandez à votre service informatique d’autoriser le TCP sortant vers ce port.',
  checkTcpNotOffered: 'Ce serveur ne reçoit pas le son et l’image en TCP.',
  checkRelayWorks: 'Le son et l’image sont passés par le relais {where}.',
  checkRelayBlocked: 'Le son et l’image ne sont pas passés par le relais {where}.',
  checkRelayUnreachable:
    'Le relais {where} est injoignable. Demandez à votre service informatique d’autoriser le TCP sortant ' +
    'port 443 (ou l’UDP 3478) vers lui.',
  checkRelayNotOffered: 'Ce serveur n’a pas de relais (TURN) configuré.',
  checkNotTestedBecause: 'Non testé : {message}',
  checkNotTestedNoAnswer: 'Non testé : le serveur n’a pas répondu.',
  checkViaTcp: 'TCP',
  checkViaRelay: 'le relais (TURN)',
  checkSummaryBest: 'Les classes fonctionnent bien depuis ce réseau.',
  checkSummaryFallback:
    'Les classes fonctionnent depuis ce réseau, par {how}. Autoriser l’UDP vers les ports média du serveur ' +
    'rendrait le son et l’image plus fluides.',
  checkSummaryNone:
    'Le son et l’image ne peuvent pas atteindre le serveur depuis ce réseau. Envoyez le rapport ci-dessous à ' +
    'votre service informatique.',
  checkSummaryNoServer:
    'Le serveur est injoignable depuis ce réseau. Envoyez le rapport ci-dessous à votre service informatique.',
  checkReportTitle: 'Pour votre service informatique',
  checkReportHelp: 'Copiez ce texte et envoyez-le à la personne qui gère votre réseau.',
  checkReportHeader: 'Test du réseau vers {host} ({when})',
  checkAgain: 'Refaire le test',

  // Pre-join screen
  prejoinTitle: 'Préparez-vous à entrer',
  camera: 'Caméra',
  microphone: 'Micro',
  yourName: 'Votre nom',
  nameHelp: 'Visible par les autres participants (64 caractères au plus).',
  nameRequired: 'Saisissez votre nom pour entrer.',
  join: 'Entrer',
  previewLabel: 'Aperçu de votre caméra',
  noCameraOption: 'Pas de caméra',
  noMicrophoneOption: 'Pas de micro',
  deviceFallbackLabel: '{kind} {n}',
  defaultName: 'Invité',
  micLevel: 'Niveau du micro : parlez pour le voir bouger',
  askingDevices: 'Demande d’accès à votre caméra et à votre micro…',

  // Media problems
  mediaDenied:
    'Votre navigateur a bloqué la caméra et le micro. Vous pouvez entrer quand même, mais les autres ne ' +
    'vous verront pas et ne vous entendront pas. Pour corriger, autorisez la caméra et le micro dans les ' +
    'paramètres du site (l’icône à gauche de l’adresse), puis rechargez la page.',
  mediaNotFound:
    'Aucune caméra ni aucun micro n’a été trouvé. Vous pouvez entrer pour regarder et écouter. ' +
    'Branchez-en un et rechargez la page pour être vu ou entendu.',
  mediaInUse:
    'Votre caméra ou votre micro est utilisé par un autre programme. Fermez ce programme et rechargez ' +
    'la page, ou entrez sans.',
  mediaInsecure:
    'Cette page n’est pas servie en HTTPS : le navigateur n’autorise donc ni la caméra ni le micro. ' +
    'Vous pouvez entrer pour regarder et écouter ; demandez à l’administrateur de servir le site en HTTPS.',
  mediaUnsupported:
    'Ce navigateur ne sait pas faire d’appels vidéo. Utilisez un Firefox, Chrome, Edge ou Safari récent.',
  mediaOther: 'La caméra ou le micro n’a pas pu démarrer ({message}). Vous pouvez entrer sans.',
  mediaNoCamera: 'Aucune caméra disponible : les autres vous entendront sans vous voir.',
  mediaNoMicrophone: 'Aucun micro disponible : les autres vous verront sans vous entendre.',
  observing: 'Vous observez : vous voyez et entendez la classe, personne ne vous voit ni ne vous entend.',

  // Class screen
  joining: 'Entrée dans la classe…',
  you: '{name} (vous)',
  roleTeacher: 'Enseignant',
  rolePupil: 'Élève',
  micOff: 'Micro coupé',
  cameraOff: 'Caméra coupée',
  videoPaused: {
    bandwidth: 'Vidéo en pause à cause de votre connexion',
    last_n: 'Vidéo masquée pour économiser la bande passante',
  },
  screenPaused: {
    bandwidth: 'Partage d’écran en pause à cause de votre connexion',
    last_n: 'Partage d’écran masqué pour économiser la bande passante',
  },
  toggleMic: 'Micro',
  toggleCamera: 'Caméra',
  leave: 'Quitter',
  participantsCount: '{n} dans la classe',
  quality: {
    good: 'Connexion : bonne',
    fair: 'Connexion : moyenne (pertes ou retard)',
    poor: 'Connexion : mauvaise (le son et l’image peuvent couper)',
    unknown: 'Connexion : pas encore mesurée',
  },
  stage: 'Vue principale',
  pager: 'Pages de participants',
  pagePrevious: 'Précédents',
  pageNext: 'Suivants',
  pageOf: 'Page {page} sur {pages}',
  pin: 'Afficher {name} en grand',
  unpin: 'Ne plus afficher {name} en grand',
  participants: 'Participants',
  controls: 'Commandes de la classe',
  enableSound: 'Activer le son',
  soundBlocked: 'Le navigateur a mis en pause le son de la classe jusqu’à votre clic.',
  mediaFailed: 'La connexion audio et vidéo a échoué.',
  mediaFailure: {
    'no-local-address':
      'La connexion audio et vidéo a échoué : ce navigateur n’a trouvé aucune adresse réseau à utiliser ' +
      '(pas de réseau, ou un réglage ou une extension qui désactive WebRTC).',
    'loopback-only':
      'La connexion audio et vidéo a échoué : le serveur donne {server} comme adresse média, une adresse de ' +
      'bouclage que ce navigateur n’utilise jamais. Le serveur doit annoncer une adresse de sa machine (media.public_ip).',
    'no-pair':
      'La connexion audio et vidéo a échoué : aucune des adresses réseau de ce navigateur ne peut joindre ' +
      'l’adresse média du serveur ({server}).',
    'no-answer':
      'La connexion audio et vidéo a échoué : ce navigateur a envoyé des vérifications de connexion au port ' +
      'média du serveur ({server}) sans obtenir de réponse. Un pare-feu bloque peut-être ce trafic ; ' +
      'prévenez l’administrateur ou essayez un autre réseau.',
    lost: 'La connexion audio et vidéo au serveur ({server}) a fonctionné, puis a été perdue.',
  },
  connectionLost: 'La connexion au serveur a été perdue. Rechargez la page pour revenir.',
  rejoin: 'Revenir',
  backToStart: 'Retour à l’accueil',

  // Class panel: participants, hands, lobby, teacher controls, chat
  sidePanel: 'Participants et discussion',
  panelToggle: 'Classe et discussion',
  roleObserver: 'Observateur',
  sharingScreen: 'Partage son écran',
  reconnectingShort: 'Reconnexion…',
  handPosition: 'Main levée, {n} dans la file',
  raiseHand: 'Lever la main',
  lowerHandPlace: 'Baisser la main ({place} dans la file)',
  ordinalFirst: '{n}re',
  ordinalOther: '{n}e',
  admit: 'Faire entrer',
  admitNamed: 'Faire entrer {name}',
  deny: 'Refuser',
  denyNamed: 'Refuser {name}',
  mute: 'Couper le micro',
  muteNamed: 'Couper le micro de {name}',
  giveFloor: 'Donner la parole',
  giveFloorNamed: 'Donner la parole à {name}',
  lowerHand: 'Baisser la main',
  lowerHandNamed: 'Baisser la main de {name}',
  cameraOffAction: 'Couper la caméra',
  cameraOffActionNamed: 'Couper la caméra de {name}',
  stopScreen: 'Arrêter le partage',
  stopScreenNamed: 'Arrêter le partage d’écran de {name}',
  promote: 'Nommer co-enseignant',
  promoteNamed: 'Nommer {name} co-enseignant',
  removeMenu: 'Retirer…',
  removeMenuNamed: 'Retirer {name} de la classe…',
  kick: 'Retirer',
  kickNamed: 'Retirer {name} (peut revenir)',
  kickBar: 'Retirer et exclure',
  kickBarNamed: 'Retirer {name} jusqu’à la fin de la classe',
  classControls: 'Classe',
  muteAll: 'Couper le micro des élèves',
  lowerAllHands: 'Baisser toutes les mains',
  copyInvite: 'Copier le lien élève',
  lockRoom: 'Verrouiller la classe (personne d’autre n’entre)',
  chatEnabled: 'Discussion ouverte',
  pupilMicAllowed: 'Les élèves peuvent allumer leur micro',
  pupilCameraAllowed: 'Les élèves peuvent allumer leur caméra',
  guestPolicy: 'Nouveaux arrivants',
  policyAccept: 'Les faire entrer',
  policyAsk: 'Les faire attendre jusqu’à mon accord',
  policyDeny: 'Les refuser',
  endClass: 'Terminer la classe',
  endClassConfirmText: 'Tout le monde sort et le lien de la classe ne fonctionne plus.',
  endClassConfirm: 'Terminer pour tout le monde',
  lobbyTitle: 'En attente d’entrer',
  lobbyWaiting: 'Vous êtes en salle d’attente. L’enseignant va vous faire entrer ; gardez cette page ouverte.',
  chat: 'Discussion',
  chatInput: 'Message à la classe',
  send: 'Envoyer',
  chatOff: 'L’enseignant a fermé la discussion.',
  chatNotAllowed: 'L’enseignant ne vous a pas autorisé à écrire dans la discussion.',
  unreadMessages: '{n} messages non lus',
  shareScreen: 'Partager l’écran',
  screenOf: 'Écran de {name}',
  screenFailed: 'L’écran n’a pas pu être partagé ({message}).',
  micNotAllowed: 'L’enseignant a coupé votre micro. Levez la main pour demander la parole.',
  cameraNotAllowed: 'L’enseignant a coupé votre caméra.',
  reconnecting: 'Connexion perdue : reconnexion… Vous restez dans la classe en attendant.',

  // End of session (bye reasons)
  byeLeft: 'Vous avez quitté la classe.',
  byeMediaFailed:
    'Le serveur a fermé la session car la connexion audio et vidéo a échoué. Rechargez la page pour réessayer.',
  byeShuttingDown: 'Le serveur redémarre. Patientez un instant, puis rechargez la page pour revenir.',
  byeKicked: 'Un enseignant vous a retiré de la classe.',
  byeClassEnded: 'L’enseignant a terminé la classe. Merci d’avoir participé !',
  byeDenied: 'L’enseignant ne vous a pas fait entrer dans la classe.',
  byeReplaced: 'Vous avez rejoint cette classe depuis un autre onglet ou appareil : cette page l’a donc quittée.',
  byeOther: 'La session s’est terminée ({reason}).',

  // Link problems (before talking to the server)
  badLink:
    'Ce lien est incomplet : il doit avoir la forme /class/<salle>?token=<jeton>. Redemandez le lien.',

  // Server error codes
  errors: {
    bad_token: 'Ce lien n’est pas valable pour cette classe. Redemandez le lien à votre enseignant.',
    token_expired: 'Ce lien a expiré. Demandez-en un nouveau à votre enseignant.',
    no_such_room: 'Cette classe n’existe pas ou est terminée.',
    room_full: 'Cette classe est complète. Réessayez plus tard ou prévenez votre enseignant.',
    unsupported_version: 'Cette page n’est plus à jour. Rechargez-la (Ctrl+Maj+R) pour obtenir la nouvelle version.',
    bad_name: 'Le serveur a refusé ce nom : {message}. Choisissez-en un autre.',
    message_too_large: 'Un message était trop gros pour le serveur. Rechargez la page.',
    no_usable_codec:
      'Votre navigateur et le serveur n’ont aucun format audio ou vidéo en commun. Utilisez un Firefox, ' +
      'Chrome, Edge ou Safari récent.',
    bad_sdp: 'Le serveur a refusé la mise en place audio et vidéo ({message}).',
    forbidden: 'Seul un enseignant peut faire cela.',
    chat_disabled: 'La discussion est fermée.',
    not_allowed: 'Vous n’avez pas le droit de faire cela maintenant : {message}',
    bad_target: 'Impossible pour ce participant : {message}',
    room_locked: 'L’enseignant a verrouillé cette classe : personne d’autre ne peut entrer.',
    barred: 'Un enseignant vous a retiré de cette classe ; vous ne pouvez pas y revenir.',
    denied: 'L’enseignant ne vous a pas fait entrer dans la classe.',
    lobby_full: 'Trop de personnes attendent d’entrer. Réessayez dans un instant.',
    bad_resume_token: 'La classe n’a pas pu reprendre ; nouvelle entrée en cours.',
    bad_chat: 'Le message n’a pas été envoyé : {message}',
    rate_limited: 'Vous envoyez trop vite ; patientez un instant.',
    other: 'Le serveur a signalé un problème : {message} ({code}).',
  },
};

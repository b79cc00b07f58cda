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
  copy: 'Copier',
  copied: 'Copié',
  copyFailed: 'Sélectionnez le lien et copiez-le à la main',
  copyTeacherLink: 'Copier le lien enseignant',
  copyPupilLink: 'Copier le lien élève',
  createFailed: 'La classe n’a pas pu être créée : {message}',
  createFailedNetwork: 'Le serveur est injoignable. Vérifiez votre connexion et réessayez.',

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

  // Class screen
  joining: 'Entrée dans la classe…',
  you: '{name} (vous)',
  roleTeacher: 'Enseignant',
  rolePupil: 'Élève',
  micOff: 'Micro coupé',
  cameraOff: 'Caméra coupée',
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
  mediaFailed:
    'La connexion audio et vidéo a échoué. Un pare-feu bloque peut-être le trafic UDP vers le serveur ; ' +
    'prévenez l’administrateur ou essayez un autre réseau.',
  connectionLost: 'La connexion au serveur a été perdue. Rechargez la page pour revenir.',
  rejoin: 'Revenir',
  backToStart: 'Retour à l’accueil',

  // End of session (bye reasons)
  byeLeft: 'Vous avez quitté la classe.',
  byeMediaFailed:
    'Le serveur a fermé la session car la connexion audio et vidéo a échoué. Rechargez la page pour réessayer.',
  byeShuttingDown: 'Le serveur redémarre. Patientez un instant, puis rechargez la page pour revenir.',
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
    other: 'Le serveur a signalé un problème : {message} ({code}).',
  },
};

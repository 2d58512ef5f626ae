/** The widget's few strings. English is complete; other locales fall back to it. */

const en = {
  open: "Open chat",
  close: "Close chat",
  chat: "Chat",
  send: "Send",
  attach: "Attach a file",
  placeholder: "Write a message…",
  sending: "Sending…",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
  retry: "Retry",
  you: "You",
  agent: "Support",
  typing: "{name} is typing…",
  someone: "Someone",
  reconnecting: "Connection lost. Reconnecting…",
  offlineTitle: "We're away right now",
  offlineIntro: "Leave a message and we'll reply by email.",
  backAt: "We're back {when}.",
  name: "Name",
  email: "Email",
  message: "Message",
  start: "Start chat",
  leaveMessage: "Send message",
  offlineThanks: "Thanks! We'll reply to {email}.",
  required: "Please fill in this field.",
  invalidEmail: "Please enter a valid email address.",
  tooLarge: "“{name}” is too large: files can be up to {max}.",
  badType: "Files of this type can't be sent.",
  uploadFailed: "The file could not be sent.",
  csatTitle: "How was your conversation?",
  csatComment: "Anything to add? (optional)",
  csatSend: "Send rating",
  csatThanks: "Thank you for your feedback!",
  rate: "{n} out of 5",
  unread: "{n} unread messages",
  error: "Something went wrong. Please try again.",
};

export type Strings = typeof en;

const fr: Partial<Strings> = {
  open: "Ouvrir le chat",
  close: "Fermer le chat",
  send: "Envoyer",
  attach: "Joindre un fichier",
  placeholder: "Écrivez un message…",
  sending: "Envoi…",
  sent: "Envoyé",
  delivered: "Distribué",
  read: "Lu",
  failed: "Non envoyé",
  retry: "Réessayer",
  typing: "{name} écrit…",
  reconnecting: "Connexion perdue. Reconnexion…",
  offlineTitle: "Nous sommes absents",
  offlineIntro: "Laissez un message, nous répondrons par email.",
  name: "Nom",
  message: "Message",
  start: "Commencer",
  leaveMessage: "Envoyer le message",
  csatTitle: "Comment s'est passée la conversation ?",
  csatSend: "Envoyer la note",
  csatThanks: "Merci pour votre avis !",
};

const de: Partial<Strings> = {
  open: "Chat öffnen",
  close: "Chat schließen",
  send: "Senden",
  attach: "Datei anhängen",
  placeholder: "Nachricht schreiben…",
  sending: "Wird gesendet…",
  sent: "Gesendet",
  delivered: "Zugestellt",
  read: "Gelesen",
  failed: "Nicht gesendet",
  retry: "Erneut versuchen",
  typing: "{name} schreibt…",
  reconnecting: "Verbindung verloren. Verbinde neu…",
  offlineTitle: "Wir sind gerade nicht da",
  offlineIntro: "Hinterlassen Sie eine Nachricht, wir antworten per E-Mail.",
  name: "Name",
  email: "E-Mail",
  message: "Nachricht",
  start: "Chat starten",
  leaveMessage: "Nachricht senden",
  csatTitle: "Wie war das Gespräch?",
  csatSend: "Bewertung senden",
  csatThanks: "Danke für Ihr Feedback!",
};

const es: Partial<Strings> = {
  open: "Abrir chat",
  close: "Cerrar chat",
  send: "Enviar",
  attach: "Adjuntar archivo",
  placeholder: "Escribe un mensaje…",
  sending: "Enviando…",
  sent: "Enviado",
  delivered: "Entregado",
  read: "Leído",
  failed: "No enviado",
  retry: "Reintentar",
  typing: "{name} está escribiendo…",
  reconnecting: "Conexión perdida. Reconectando…",
  offlineTitle: "Ahora no estamos",
  offlineIntro: "Déjanos un mensaje y te responderemos por email.",
  name: "Nombre",
  email: "Email",
  message: "Mensaje",
  start: "Empezar chat",
  leaveMessage: "Enviar mensaje",
  csatTitle: "¿Qué tal fue la conversación?",
  csatSend: "Enviar valoración",
  csatThanks: "¡Gracias por tu opinión!",
};

const LOCALES: Record<string, Partial<Strings>> = { en, fr, de, es };

export function strings(locale: string | undefined): Strings {
  const lang = (locale || "en").toLowerCase().split(/[-_]/)[0];
  return { ...en, ...(LOCALES[lang] || {}) };
}

/** Fills `{name}` placeholders; values are inserted as text, never markup. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in values ? String(values[key]) : whole,
  );
}

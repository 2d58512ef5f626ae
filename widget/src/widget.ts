/** The widget: a launcher and a chat panel inside one shadow root, talking to omnidesk's
 * visitor API (docs/channels/webchat.md, "Visitor protocol (v1)"). */

import { Api, ApiError } from "./api";
import { Backoff } from "./backoff";
import { Batcher } from "./batcher";
import { Connection } from "./connection";
import { cssPath, h, icon, ICONS, textOn, uuid } from "./dom";
import { fill, strings, type Strings } from "./i18n";
import { checkAttachment, formatBytes } from "./limits";
import { Outbox, type KeyValue, type OutboxItem, type SendResult } from "./outbox";
import {
  compareIds,
  type Conversation,
  type Frame,
  type Message,
  type MessageId,
  type PreChat,
  type Settings,
  type User,
  type Visitor,
  type VisitorEvent,
} from "./protocol";
import { RageClickDetector } from "./rage";
import { MessageStore, type Entry } from "./store";
import { CSS } from "./styles";
import { TypingThrottle } from "./typing";

export interface WidgetOptions {
  origin: string;
  key: string;
  user?: User | null;
  locale?: string;
  storage: KeyValue | null;
}

export type WidgetEvent = "ready" | "open" | "close" | "message" | "unread";
type Listener = (detail: unknown) => void;

const TYPING_IDLE_MS = 4000;
const AGENT_TYPING_MS = 6000;

export class Widget {
  readonly api: Api;
  readonly store = new MessageStore();
  readonly outbox: Outbox;
  readonly events: Batcher<VisitorEvent>;
  readonly connection: Connection;
  private readonly t: Strings;
  private readonly rage = new RageClickDetector();
  private readonly typing = new TypingThrottle();
  private readonly sessionBackoff = new Backoff();
  private readonly outboxBackoff = new Backoff();
  private readonly listeners = new Map<WidgetEvent, Set<Listener>>();
  private readonly keys: {
    visitor: string;
    user: string;
    outbox: string;
    prechat: string;
    csat: string;
  };

  private user: User | null;
  settings: Settings | null = null;
  conversation: Conversation | null = null;
  private visitor: Visitor = {};
  private isOpen = false;
  private connected = false;
  private everConnected = false;
  private sessionPending: Promise<void> | null = null;
  private sessionRetry: ReturnType<typeof setTimeout> | null = null;
  private outboxRetry: ReturnType<typeof setTimeout> | null = null;
  private typingIdle: ReturnType<typeof setTimeout> | null = null;
  private agentTypingTimer: ReturnType<typeof setTimeout> | null = null;
  private preChat: PreChat | null = null;
  private preChatDone = false;
  private offlineSentTo: string | null = null;
  private offlineClientId: string | null = null;
  private lastReadSent: MessageId | null = null;
  private leftSentFor: MessageId | null = null;
  private csatFor: MessageId | null = null;
  private csatState: "idle" | "sending" | "done" = "idle";
  private csatRating = 0;
  private unread = 0;
  private lastUrl = "";
  private unloading = false;
  private destroyed = false;
  private readonly cleanups: Array<() => void> = [];

  // The DOM, all inside the shadow root.
  host!: HTMLElement;
  private root!: ShadowRoot;
  private wrap!: HTMLDivElement;
  private launcher!: HTMLButtonElement;
  private badge!: HTMLSpanElement;
  private panel!: HTMLDivElement;
  private titleEl!: HTMLHeadingElement;
  private subEl!: HTMLParagraphElement;
  private banner!: HTMLDivElement;
  private log!: HTMLDivElement;
  private greetingEl!: HTMLDivElement;
  private typingEl!: HTMLDivElement;
  private notice!: HTMLDivElement;
  private csatEl!: HTMLDivElement;
  private preChatEl!: HTMLFormElement;
  private offlineEl!: HTMLFormElement;
  private composer!: HTMLFormElement;
  private textarea!: HTMLTextAreaElement;
  private fileInput!: HTMLInputElement;
  private attachButton!: HTMLButtonElement;
  private readonly rendered = new Map<Entry, HTMLDivElement>();

  constructor(private readonly options: WidgetOptions) {
    const { key, origin, storage } = options;
    this.keys = {
      visitor: `omnidesk:${key}:visitor`,
      user: `omnidesk:${key}:user`,
      outbox: `omnidesk:${key}:outbox`,
      prechat: `omnidesk:${key}:prechat`,
      csat: `omnidesk:${key}:csat`,
    };
    this.user = options.user || null;
    this.t = strings(options.locale);
    this.api = new Api(origin, key);
    this.api.token = this.read(this.keys.visitor);
    const tokenUser = this.read(this.keys.user);
    if (tokenUser !== null && tokenUser !== (this.user?.id ?? null)) {
      // The stored token was a signed-in user's, and this page is not theirs (signed out,
      // or someone else on a shared computer): start anonymous.
      this.api.token = null;
      this.remove(this.keys.visitor);
      this.remove(this.keys.user);
    }
    this.preChatDone = this.read(this.keys.prechat) === "1";
    this.outbox = new Outbox((item) => this.deliver(item), storage, this.keys.outbox);
    this.events = new Batcher<VisitorEvent>((batch) => this.sendEvents(batch), {
      maxBatch: 20,
      delayMs: 1000,
    });
    this.connection = new Connection({
      url: (after) => this.api.socketUrl(after),
      after: () => this.store.lastId(),
      onFrame: (frame) => this.onFrame(frame),
      onState: (state) => this.onConnectionState(state),
      onRefused: () => this.onUnauthorized(),
      onGone: (code) => console.warn(`omnidesk: the chat closed the connection (${code})`),
    });
    for (const item of this.outbox.items()) this.store.addLocal(item.client_id, item.body);
  }

  // Public ----------------------------------------------------------------------------------

  start(): void {
    this.mount();
    this.listen();
    this.trackPageView();
    this.render();
    void this.startSession();
  }

  open(): void {
    if (this.destroyed || this.isOpen) return;
    this.isOpen = true;
    this.unread = 0;
    if (this.api.token && this.settings) this.connection.start();
    this.render();
    this.focusFirst();
    this.sendRead();
    this.emit("open", null);
    this.emit("unread", 0);
  }

  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    const hadFocus = this.root.activeElement !== null;
    this.stopTyping();
    if (this.conversation && this.store.waitingForReply() && this.leftSentFor !== this.conversation.id) {
      this.leftSentFor = this.conversation.id;
      this.api.left().catch(() => undefined);
    }
    this.render();
    if (hadFocus) this.launcher.focus();
    this.emit("close", null);
  }

  toggle(): void {
    if (this.isOpen) this.close();
    else this.open();
  }

  /** Signs the visitor in as a user of the host site (identity verification). */
  identify(user: User | null): Promise<void> {
    const same = JSON.stringify(user || null) === JSON.stringify(this.user);
    const previous = this.user;
    this.user = user;
    if (same && this.settings) return Promise.resolve();
    if (previous && (!user || user.id !== previous.id)) {
      // Signed out, or another user: the visitor token was theirs. (Signing in from an
      // anonymous visit keeps it, so that the chat so far follows the user.)
      this.api.token = null;
      this.remove(this.keys.visitor);
      this.remove(this.keys.user);
    }
    // Another person: show their history, not the previous visitor's.
    this.store.clear();
    this.resetLog();
    this.conversation = null;
    this.lastReadSent = null;
    this.unread = 0;
    return this.startSession(true, true);
  }

  on(event: WidgetEvent, listener: Listener): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set?.delete(listener);
  }

  destroy(): void {
    this.destroyed = true;
    this.connection.stop();
    for (const cleanup of this.cleanups) cleanup();
    this.host.remove();
  }

  // Session and history ---------------------------------------------------------------------

  private startSession(force = false, switched = false): Promise<void> {
    if (this.sessionPending && !force) return this.sessionPending;
    if (this.sessionRetry !== null) clearTimeout(this.sessionRetry);
    this.sessionRetry = null;
    const run = this.openSession(switched).finally(() => {
      if (this.sessionPending === run) this.sessionPending = null;
    });
    this.sessionPending = run;
    return run;
  }

  private async openSession(switched: boolean): Promise<void> {
    const previous = this.api.token;
    const body: { visitor_token?: string; user?: User } = {};
    if (previous) body.visitor_token = previous;
    if (this.user && this.user.id && this.user.hash) body.user = this.user;
    let answer;
    try {
      answer = await this.api.session(body);
    } catch (error) {
      if (error instanceof ApiError && error.status === 403 && body.user) {
        // A wrong user hash: the visitor goes on anonymously.
        console.warn(`omnidesk: the user was not verified (${error.message}); chatting anonymously`);
        this.user = null;
        return this.openSession(switched);
      }
      if (error instanceof ApiError && !error.transient) {
        // An unknown widget key (404) or a site not on the allow-list (403): nothing to show.
        console.warn(`omnidesk: the chat is unavailable (${error.code}): ${error.message}`);
        if (error.status === 404 || error.status === 403) this.destroy();
        return;
      }
      const wait = error instanceof ApiError && error.retryAfterS ? error.retryAfterS * 1000 : this.sessionBackoff.next();
      this.sessionRetry = setTimeout(() => void this.startSession(false, switched), wait);
      this.showBanner(true);
      return;
    }
    if (this.destroyed) return;
    this.sessionBackoff.reset();
    this.api.token = answer.visitor_token;
    this.write(this.keys.visitor, answer.visitor_token);
    if (body.user) this.write(this.keys.user, body.user.id);
    else this.remove(this.keys.user);
    this.settings = answer.settings;
    this.visitor = answer.visitor || {};
    this.conversation = answer.conversation || null;
    this.applySettings();
    this.events.resume();
    if (this.conversation || this.store.size) await this.loadHistory();
    const c = this.conversation;
    if (c && c.status === "resolved" && c.csat_rating == null) this.onStatus(c.id, "resolved");
    if (this.conversation || this.isOpen || this.outbox.length) {
      this.connection.start();
      // A new identity: the open socket still speaks for the previous visitor.
      if (switched) this.connection.restart();
    }
    this.showBanner(false);
    this.render();
    this.flushOutbox();
    this.wrap.dataset.ready = "1"; // the session is open and the history loaded
    this.emit("ready", { settings: this.settings, conversation: this.conversation });
  }

  private async loadHistory(): Promise<void> {
    const limit = 100;
    for (let page = 0; page < 50; page += 1) {
      let answer;
      try {
        answer = await this.api.messages(this.store.lastId(), limit);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) this.onUnauthorized();
        return; // The websocket replays what is missing once it connects.
      }
      if (answer.conversation) this.conversation = answer.conversation;
      for (const message of answer.messages || []) this.store.upsert(message);
      if (!answer.messages || answer.messages.length < limit) break;
    }
    this.render();
  }

  private onUnauthorized(): void {
    // The token was revoked or forged: forget it and become a new visitor.
    this.connection.stop();
    this.api.token = null;
    this.remove(this.keys.visitor);
    this.store.clear();
    this.resetLog();
    this.conversation = null;
    void this.startSession(true);
  }

  // Realtime --------------------------------------------------------------------------------

  private onConnectionState(state: "connecting" | "open" | "closed"): void {
    const was = this.connected;
    this.connected = state === "open";
    if (this.connected) this.everConnected = true;
    if (was !== this.connected) this.showBanner(!this.connected && this.everConnected);
  }

  private onFrame(frame: Frame): void {
    switch (frame.type) {
      case "hello":
        this.showBanner(false);
        this.outboxBackoff.reset();
        this.flushOutbox();
        void this.events.flush();
        return;
      case "message":
        if (frame.message) this.receive(frame.message, true);
        return;
      case "typing":
        this.showAgentTyping(!!frame.typing, frame.name || "");
        return;
      case "read":
        if (this.store.markReadUpTo(frame.message_id)) this.render();
        return;
      case "status":
        this.onStatus(frame.conversation_id, frame.status);
        return;
      default:
        return;
    }
  }

  private receive(message: Message, live: boolean): void {
    const change = this.store.upsert(message);
    if (!this.conversation || String(this.conversation.id) !== String(message.conversation_id)) {
      if (!this.conversation || compareIds(message.conversation_id, this.conversation.id) > 0) {
        this.conversation = { id: message.conversation_id, status: "open" };
      }
    }
    if (change === "unchanged") return;
    if (change === "added" && message.direction === "outbound") {
      if (message.sender.type === "user") this.showAgentTyping(false, "");
      if (live && (!this.isOpen || document.visibilityState !== "visible")) {
        this.unread += 1;
        this.emit("unread", this.unread);
      }
    }
    if (change === "added") this.emit("message", { ...message });
    this.render();
    this.sendRead();
  }

  private onStatus(conversationId: MessageId, status: string): void {
    if (this.conversation && String(this.conversation.id) === String(conversationId)) {
      this.conversation = { ...this.conversation, status };
    }
    if (status === "resolved" && this.settings?.csat && !this.csatGiven(conversationId)) {
      this.csatFor = conversationId;
      this.csatState = "idle";
      this.csatRating = 0;
      this.renderCsat();
    }
    this.render();
  }

  // Sending ---------------------------------------------------------------------------------

  private submitComposer(): void {
    const body = this.textarea.value;
    if (!body.trim()) return;
    this.textarea.value = "";
    this.autosize();
    this.queue(body);
    this.stopTyping();
  }

  private queue(body: string, file?: File): void {
    const clientId = uuid();
    const item: Omit<OutboxItem, "attempts"> = { client_id: clientId, body };
    if (file) item.file = file;
    if (this.preChat && !this.conversation) item.pre_chat = this.preChat;
    this.store.addLocal(clientId, body, file ? file.name : undefined);
    this.outbox.add(item);
    this.render(true);
    if (this.api.token) this.connection.start();
    this.flushOutbox();
  }

  private flushOutbox(): void {
    if (!this.api.token || !this.outbox.length) return;
    void this.outbox.flush().then((report) => {
      if (report.sent.length) this.outboxBackoff.reset();
      if (report.blocked && this.outboxRetry === null) {
        this.outboxRetry = setTimeout(() => {
          this.outboxRetry = null;
          this.flushOutbox();
        }, this.outboxBackoff.next());
      }
    });
  }

  /** Sends one queued message; the outbox keeps it on `retry`. */
  private async deliver(item: OutboxItem): Promise<SendResult> {
    if (!this.api.token) return "retry";
    if (this.store.setLocalState(item.client_id, "sending")) this.render();
    try {
      const message = item.file
        ? await this.api.attach(item.client_id, item.file, item.body)
        : await this.api.send({ client_id: item.client_id, body: item.body, pre_chat: item.pre_chat });
      if (item.pre_chat) {
        this.preChat = null;
        this.write(this.keys.prechat, "1");
      }
      this.receive(message, false);
      return "sent";
    } catch (error) {
      const problem = error instanceof ApiError ? error : new ApiError(0, "network", String(error));
      if (problem.status === 401) {
        this.store.setLocalState(item.client_id, "queued");
        this.onUnauthorized();
        return "retry";
      }
      if (problem.transient) {
        this.store.setLocalState(item.client_id, "queued");
        this.render();
        return "retry";
      }
      const text = problem.status === 413 || problem.status === 415 ? problem.message : this.t.failed;
      this.store.setLocalState(item.client_id, "failed", text);
      this.render();
      return "drop";
    }
  }

  private retry(entry: Entry): void {
    if (!entry.client_id || !entry.local) return;
    this.store.setLocalState(entry.client_id, "queued");
    this.outbox.add({ client_id: entry.client_id, body: entry.local.body });
    this.render();
    this.flushOutbox();
  }

  private onFile(): void {
    const file = this.fileInput.files && this.fileInput.files[0];
    this.fileInput.value = "";
    if (!file) return;
    const problem = checkAttachment(file, this.settings?.attachments);
    if (problem) {
      this.showNotice(
        problem.code === "too_large"
          ? fill(this.t.tooLarge, { name: file.name, max: formatBytes(problem.maxBytes) })
          : this.t.badType,
      );
      return;
    }
    this.showNotice("");
    const body = this.textarea.value;
    this.textarea.value = "";
    this.autosize();
    this.queue(body, file);
  }

  private onInput(): void {
    this.autosize();
    if (!this.conversation || !this.api.token) return;
    if (!this.textarea.value) {
      this.stopTyping();
      return;
    }
    if (this.typing.input(Date.now())) this.api.typing(true).catch(() => undefined);
    if (this.typingIdle !== null) clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  private stopTyping(): void {
    if (this.typingIdle !== null) clearTimeout(this.typingIdle);
    this.typingIdle = null;
    if (this.typing.stop() && this.api.token) this.api.typing(false).catch(() => undefined);
  }

  private sendRead(): void {
    if (!this.isOpen || document.visibilityState !== "visible" || !this.api.token) return;
    const id = this.store.lastOutboundId();
    if (id === null) return;
    if (this.lastReadSent !== null && compareIds(id, this.lastReadSent) <= 0) return;
    const before = this.lastReadSent;
    this.lastReadSent = id;
    this.api.read(id).catch(() => {
      if (this.lastReadSent === id) this.lastReadSent = before;
    });
  }

  private async sendEvents(batch: VisitorEvent[]): Promise<boolean> {
    if (!this.api.token) return false;
    try {
      await this.api.events(batch, this.unloading);
      return true;
    } catch (error) {
      // A batch the server refuses (4xx) would be refused again: drop it.
      return error instanceof ApiError && !error.transient && error.status !== 401;
    }
  }

  private trackPageView(): void {
    const url = location.href;
    if (url === this.lastUrl) return;
    this.lastUrl = url;
    const event: VisitorEvent = { kind: "page_view", url, title: document.title, at: new Date().toISOString() };
    if (document.referrer) event.referrer = document.referrer;
    this.events.add(event);
  }

  // Offline form, pre-chat form, CSAT -------------------------------------------------------

  private async submitOffline(form: HTMLFormElement): Promise<void> {
    const data = this.formValues(form);
    if (!data) return;
    const button = form.querySelector("button[type=submit]") as HTMLButtonElement;
    button.disabled = true;
    this.offlineClientId = this.offlineClientId || uuid();
    const email = data.email || "";
    try {
      await this.api.offline({
        name: data.name || undefined,
        email,
        body: data.body || "",
        client_id: this.offlineClientId,
      });
      this.offlineSentTo = email;
      this.offlineClientId = null;
      this.showNotice("");
    } catch (error) {
      this.showNotice(error instanceof ApiError && !error.transient ? error.message : this.t.error);
    } finally {
      button.disabled = false;
    }
    this.render();
  }

  private submitPreChat(form: HTMLFormElement): void {
    const data = this.formValues(form);
    if (!data) return;
    const preChat: PreChat = {};
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(data)) {
      if (!value) continue;
      if (name === "name") preChat.name = value;
      else if (name === "email") preChat.email = value;
      else fields[name] = value;
    }
    if (Object.keys(fields).length) preChat.fields = fields;
    this.preChat = preChat;
    this.preChatDone = true;
    this.render();
    this.textarea.focus();
  }

  /** The form's values once every field is valid; else marks the first bad one. */
  private formValues(form: HTMLFormElement): Record<string, string> | null {
    const values: Record<string, string> = {};
    let firstBad: HTMLElement | null = null;
    for (const el of Array.from(form.querySelectorAll("input, select, textarea"))) {
      const field = el as HTMLInputElement;
      const error = field.parentElement?.querySelector(".err") as HTMLElement | null;
      const value = field.value.trim();
      let problem = "";
      if (field.required && !value) problem = this.t.required;
      else if (field.type === "email" && value && !field.checkValidity()) problem = this.t.invalidEmail;
      else if (!field.checkValidity()) problem = field.validationMessage || this.t.required;
      if (error) error.textContent = problem;
      field.setAttribute("aria-invalid", problem ? "true" : "false");
      if (problem && !firstBad) firstBad = field;
      values[field.name] = value;
    }
    if (firstBad) {
      firstBad.focus();
      return null;
    }
    return values;
  }

  private csatGiven(conversationId: MessageId): boolean {
    return this.read(`${this.keys.csat}:${conversationId}`) === "1";
  }

  private async submitCsat(comment: string): Promise<void> {
    if (this.csatFor === null || !this.csatRating) return;
    this.csatState = "sending";
    this.renderCsat();
    const body: { conversation_id: MessageId; rating: number; comment?: string } = {
      conversation_id: this.csatFor,
      rating: this.csatRating,
    };
    if (comment.trim()) body.comment = comment.trim();
    try {
      await this.api.csat(body);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) {
        this.csatState = "idle";
        this.renderCsat();
        this.showNotice(this.t.error);
        return;
      }
    }
    this.write(`${this.keys.csat}:${this.csatFor}`, "1");
    this.csatState = "done";
    this.renderCsat();
  }

  // DOM -------------------------------------------------------------------------------------

  private mount(): void {
    const t = this.t;
    this.host = document.createElement("omnidesk-widget");
    // Host-page CSS could reach the host element itself (not its shadow): pin what matters.
    for (const [name, value] of [
      ["all", "initial"],
      ["position", "fixed"],
      ["z-index", "2147483000"],
      ["width", "0"],
      ["height", "0"],
      ["right", "0"],
      ["bottom", "0"],
      ["display", "block"],
    ]) {
      this.host.style.setProperty(name, value, "important");
    }
    this.root = this.host.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = CSS;
    this.root.appendChild(style);

    this.badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    this.launcher = h(
      "button",
      { type: "button", class: "launcher", "aria-label": t.open, "aria-expanded": "false", "aria-controls": "od-panel" },
      icon(ICONS.chat),
      this.badge,
    );
    this.launcher.addEventListener("click", () => this.toggle());

    const closeButton = h("button", { type: "button", class: "icon", "aria-label": t.close, title: t.close }, icon(ICONS.close));
    closeButton.addEventListener("click", () => this.close());
    this.titleEl = h("h2", { class: "title", id: "od-title", text: t.chat });
    this.subEl = h("p", { class: "sub" });
    const head = h("div", { class: "head" }, h("div", { class: "titles" }, this.titleEl, this.subEl), closeButton);

    this.banner = h("div", { class: "banner", role: "status", hidden: true, text: t.reconnecting });
    this.greetingEl = h("div", { class: "msg out greeting", hidden: true }, h("div", { class: "bubble" }));
    this.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0", "aria-label": t.chat }, this.greetingEl);
    this.typingEl = h("div", { class: "typing", "aria-live": "polite", hidden: true });
    this.notice = h("div", { class: "notice", role: "alert", hidden: true });
    this.csatEl = h("div", { class: "form csat", hidden: true });
    this.preChatEl = h("form", { class: "form prechat", hidden: true, novalidate: true });
    this.preChatEl.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submitPreChat(this.preChatEl);
    });
    this.offlineEl = h("form", { class: "form offline", hidden: true, novalidate: true });
    this.offlineEl.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submitOffline(this.offlineEl);
    });

    this.textarea = h("textarea", { rows: 1, placeholder: t.placeholder, "aria-label": t.message, maxlength: 65536 });
    this.textarea.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.submitComposer();
      }
    });
    this.textarea.addEventListener("input", () => this.onInput());
    this.fileInput = h("input", { type: "file", class: "sr", tabindex: "-1", "aria-hidden": "true" });
    this.fileInput.addEventListener("change", () => this.onFile());
    this.attachButton = h("button", { type: "button", class: "icon", "aria-label": t.attach, title: t.attach }, icon(ICONS.attach));
    this.attachButton.addEventListener("click", () => this.fileInput.click());
    const sendButton = h("button", { type: "submit", class: "icon send", "aria-label": t.send, title: t.send }, icon(ICONS.send));
    this.composer = h("form", { class: "composer" }, this.attachButton, this.fileInput, this.textarea, sendButton);
    this.composer.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submitComposer();
      this.textarea.focus();
    });

    this.panel = h(
      "div",
      { class: "panel", id: "od-panel", role: "dialog", "aria-labelledby": "od-title", hidden: true },
      head,
      this.banner,
      this.log,
      this.typingEl,
      this.notice,
      this.csatEl,
      this.preChatEl,
      this.offlineEl,
      this.composer,
    );
    this.panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        this.close();
      }
    });
    this.wrap = h("div", { class: "od" }, this.panel, this.launcher);
    this.root.appendChild(this.wrap);
    (document.body || document.documentElement).appendChild(this.host);
  }

  private listen(): void {
    const on = (target: EventTarget, type: string, fn: (e: Event) => void, options?: AddEventListenerOptions) => {
      target.addEventListener(type, fn, options);
      this.cleanups.push(() => target.removeEventListener(type, fn, options));
    };
    on(document, "click", (e) => this.onPageClick(e as MouseEvent), { capture: true, passive: true });
    on(document, "visibilitychange", () => {
      if (document.visibilityState === "visible") {
        this.connection.kick();
        this.sendRead();
      }
    });
    on(window, "online", () => {
      this.connection.kick();
      if (this.outboxRetry !== null) clearTimeout(this.outboxRetry);
      this.outboxRetry = null;
      this.outboxBackoff.reset();
      this.flushOutbox();
      if (!this.settings) void this.startSession();
      void this.events.flush();
    });
    on(window, "pagehide", () => {
      this.unloading = true;
      void this.events.flush();
    });
    on(window, "pageshow", () => {
      this.unloading = false;
    });
    // Page views on history navigation (single-page sites), without touching `history`.
    const nav = (window as unknown as { navigation?: EventTarget }).navigation;
    if (nav && typeof nav.addEventListener === "function") {
      on(nav, "currententrychange", () => this.trackPageView());
    } else {
      on(window, "popstate", () => this.trackPageView());
      on(window, "hashchange", () => this.trackPageView());
      const timer = setInterval(() => this.trackPageView(), 1000);
      this.cleanups.push(() => clearInterval(timer));
    }
  }

  private onPageClick(event: MouseEvent): void {
    if (event.composedPath().includes(this.host)) return;
    if (!this.rage.add({ x: event.clientX, y: event.clientY, t: performance.now() })) return;
    this.events.add({
      kind: "rage_click",
      url: location.href,
      x: Math.round(event.clientX),
      y: Math.round(event.clientY),
      selector: cssPath(event.target),
      at: new Date().toISOString(),
    });
  }

  private applySettings(): void {
    const s = this.settings;
    if (!s) return;
    if (s.colour) {
      this.wrap.style.setProperty("--od-accent", s.colour);
      this.wrap.style.setProperty("--od-on-accent", textOn(s.colour));
    }
    this.titleEl.textContent = s.title || this.t.chat;
    const greeting = this.greetingEl.firstChild as HTMLElement;
    greeting.textContent = s.greeting || "";
    this.greetingEl.hidden = !s.greeting;
    this.buildPreChat();
    this.buildOffline();
    const accept = (s.attachments?.types || []).join(",");
    if (accept) this.fileInput.setAttribute("accept", accept);
    else this.fileInput.removeAttribute("accept");
    this.attachButton.hidden = !s.attachments || s.attachments.max_bytes <= 0;
  }

  private subtitle(): string {
    const s = this.settings;
    if (!s) return "";
    if (s.online) return s.expected_reply || "";
    let text = this.t.offlineTitle;
    if (s.next_open_at) {
      const when = new Date(s.next_open_at);
      if (!Number.isNaN(when.getTime())) {
        let shown: string;
        try {
          shown = new Intl.DateTimeFormat(this.options.locale || undefined, {
            weekday: "short",
            hour: "numeric",
            minute: "2-digit",
          }).format(when);
        } catch {
          shown = when.toLocaleString();
        }
        text += ` ${fill(this.t.backAt, { when: shown })}`;
      }
    }
    return text;
  }

  private field(label: string, control: HTMLElement): HTMLLabelElement {
    return h("label", {}, label, control, h("span", { class: "err", "aria-live": "polite" }));
  }

  private buildPreChat(): void {
    const form = this.preChatEl;
    form.textContent = "";
    const fields = this.settings?.pre_chat_form?.fields || [];
    for (const f of fields) {
      let control: HTMLInputElement | HTMLSelectElement;
      if (f.type === "select") {
        control = h("select", { name: f.name, required: f.required }, h("option", { value: "", text: "—" }));
        for (const option of f.options || []) control.appendChild(h("option", { value: option, text: option }));
      } else {
        control = h("input", {
          name: f.name,
          type: f.type === "email" || f.type === "number" ? f.type : "text",
          required: f.required,
          autocomplete: f.name === "email" ? "email" : f.name === "name" ? "name" : null,
        });
        const known = f.name === "name" ? this.visitor.name || this.user?.name : f.name === "email" ? this.visitor.email || this.user?.email : null;
        if (known) control.value = known;
      }
      form.appendChild(this.field(f.label + (f.required ? " *" : ""), control));
    }
    form.appendChild(h("button", { type: "submit", class: "btn", text: this.t.start }));
  }

  private buildOffline(): void {
    const form = this.offlineEl;
    form.textContent = "";
    const s = this.settings;
    form.appendChild(h("p", { text: this.t.offlineIntro }));
    if (s?.expected_reply) form.appendChild(h("p", { class: "sub", text: s.expected_reply }));
    const name = h("input", { name: "name", type: "text", autocomplete: "name" });
    name.value = this.visitor.name || this.user?.name || "";
    const email = h("input", { name: "email", type: "email", required: true, autocomplete: "email" });
    email.value = this.visitor.email || this.user?.email || "";
    const body = h("textarea", { name: "body", required: true, maxlength: 65536 });
    form.append(
      this.field(this.t.name, name),
      this.field(`${this.t.email} *`, email),
      this.field(`${this.t.message} *`, body),
      h("button", { type: "submit", class: "btn", text: this.t.leaveMessage }),
    );
  }

  private renderCsat(): void {
    const el = this.csatEl;
    el.textContent = "";
    if (this.csatFor === null) {
      el.hidden = true;
      return;
    }
    el.hidden = false;
    if (this.csatState === "done") {
      el.appendChild(h("p", { role: "status", text: this.t.csatThanks }));
      return;
    }
    const rates = h("div", { class: "rates", role: "group", "aria-label": this.t.csatTitle });
    for (let n = 1; n <= 5; n += 1) {
      const button = h("button", {
        type: "button",
        class: "rate",
        text: String(n),
        "aria-label": fill(this.t.rate, { n }),
        "aria-pressed": this.csatRating === n ? "true" : "false",
      });
      button.addEventListener("click", () => {
        this.csatRating = n;
        for (const b of Array.from(rates.children)) b.setAttribute("aria-pressed", b === button ? "true" : "false");
        submit.disabled = false;
      });
      rates.appendChild(button);
    }
    const comment = h("textarea", { name: "comment", maxlength: 2000 });
    const submit = h("button", { type: "button", class: "btn", text: this.t.csatSend, disabled: !this.csatRating || this.csatState === "sending" });
    submit.addEventListener("click", () => void this.submitCsat(comment.value));
    el.append(h("p", { text: this.t.csatTitle }), rates, this.field(this.t.csatComment, comment), submit);
  }

  private showAgentTyping(typing: boolean, name: string): void {
    if (this.agentTypingTimer !== null) clearTimeout(this.agentTypingTimer);
    this.agentTypingTimer = null;
    if (typing) {
      this.typingEl.textContent = fill(this.t.typing, { name: name || this.t.agent });
      this.typingEl.hidden = false;
      this.agentTypingTimer = setTimeout(() => this.showAgentTyping(false, ""), AGENT_TYPING_MS);
    } else {
      this.typingEl.hidden = true;
      this.typingEl.textContent = "";
    }
  }

  private showBanner(show: boolean): void {
    if (this.banner) this.banner.hidden = !show;
  }

  private showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = !text;
  }

  private focusFirst(): void {
    const target = [this.preChatEl, this.offlineEl, this.csatEl].find((el) => !el.hidden);
    const field = target?.querySelector("input, select, textarea, button") as HTMLElement | null;
    (field || this.textarea).focus();
  }

  private autosize(): void {
    this.textarea.style.height = "auto";
    this.textarea.style.height = `${Math.min(this.textarea.scrollHeight + 2, 120)}px`;
  }

  private resetLog(): void {
    for (const el of this.rendered.values()) el.remove();
    this.rendered.clear();
  }

  private render(scrollToEnd = false): void {
    if (!this.panel) return;
    const s = this.settings;
    this.wrap.classList.toggle("opened", this.isOpen);
    this.panel.hidden = !this.isOpen;
    this.launcher.setAttribute("aria-expanded", String(this.isOpen));
    this.launcher.setAttribute("aria-label", this.isOpen ? this.t.close : this.unread ? `${this.t.open} (${fill(this.t.unread, { n: this.unread })})` : this.t.open);
    this.badge.hidden = !this.unread || this.isOpen;
    this.badge.textContent = this.unread ? String(this.unread) : "";
    this.subEl.textContent = this.subtitle();

    const fresh = !this.conversation && !this.store.size;
    const offline = !!s && !s.online && fresh;
    const preChat = !!s && !offline && fresh && !this.preChatDone && !!s.pre_chat_form?.enabled && (s.pre_chat_form.fields || []).length > 0;
    // Once the offline form is sent, its answer comes by email: no chat goes on here.
    const leftMessage = !!s && !s.online && this.offlineSentTo !== null;
    this.offlineEl.hidden = !offline || leftMessage;
    this.preChatEl.hidden = !preChat;
    this.composer.hidden = offline || preChat || leftMessage;
    this.renderLog(scrollToEnd);
  }

  private renderLog(scrollToEnd: boolean): void {
    const log = this.log;
    const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const entries = this.store.entries();
    const keep = new Set(entries);
    for (const [entry, el] of this.rendered) {
      if (!keep.has(entry)) {
        el.remove();
        this.rendered.delete(entry);
      }
    }
    let previous: Element = this.greetingEl;
    for (const entry of entries) {
      const el = this.renderEntry(entry);
      if (previous.nextElementSibling !== el) previous.after(el);
      previous = el;
    }
    let thanks = log.querySelector(".thanks");
    if (this.offlineSentTo !== null) {
      if (!thanks) log.appendChild((thanks = h("div", { class: "msg sys thanks" })));
      thanks.textContent = fill(this.t.offlineThanks, { email: this.offlineSentTo });
      log.appendChild(thanks);
    }
    if (scrollToEnd || atEnd) log.scrollTop = log.scrollHeight;
  }

  private renderEntry(entry: Entry): HTMLDivElement {
    const m = entry.message;
    const local = entry.local;
    const direction = m ? m.direction : "inbound";
    const system = m && m.sender.type === "system";
    let state: string = local ? local.state : m ? m.status : "sent";
    const signature = [entry.id, state, local?.error, m?.body, m?.attachments?.length, local?.body].join("|");
    let el = this.rendered.get(entry);
    if (el && el.dataset.sig === signature) return el;
    if (!el) {
      el = h("div", {});
      this.rendered.set(entry, el);
    }
    el.dataset.sig = signature;
    el.className = `msg ${system ? "sys" : direction === "inbound" ? "in" : "out"}${local?.state === "failed" ? " failed" : ""}`;
    el.dataset.direction = direction;
    el.dataset.state = state;
    if (entry.id !== null) el.dataset.id = String(entry.id);
    if (entry.client_id) el.dataset.clientId = entry.client_id;
    el.textContent = "";
    if (direction === "outbound" && !system) {
      el.appendChild(h("div", { class: "who", text: m?.sender.name || this.t.agent }));
    }
    const bubble = h("div", { class: "bubble" });
    const body = m ? m.body : local ? local.body : "";
    if (body) bubble.appendChild(h("span", { class: "body", text: body }));
    for (const a of m?.attachments || []) {
      const href = this.safeUrl(a.url);
      const label = `${a.filename} (${formatBytes(a.size)})`;
      bubble.appendChild(href ? h("a", { href, target: "_blank", rel: "noopener noreferrer", text: label }) : h("span", { text: label }));
    }
    if (!m && local?.attachmentName) bubble.appendChild(h("span", { text: local.attachmentName }));
    el.appendChild(bubble);
    if (direction === "inbound" && !system) {
      const meta = h("div", { class: "meta" });
      if (local) {
        state = local.state;
        meta.textContent = state === "failed" ? local.error || this.t.failed : this.t.sending;
        if (state === "failed") {
          const again = h("button", { type: "button", class: "linkbtn", text: this.t.retry });
          again.addEventListener("click", () => this.retry(entry));
          meta.appendChild(again);
        }
      } else if (m) {
        meta.textContent = this.t[m.status === "read" ? "read" : m.status === "delivered" ? "delivered" : "sent"];
      }
      el.appendChild(meta);
    }
    return el;
  }

  private safeUrl(url: string): string | null {
    try {
      const parsed = new URL(url, this.options.origin);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.toString() : null;
    } catch {
      return null;
    }
  }

  // Small things ----------------------------------------------------------------------------

  private emit(event: WidgetEvent, detail: unknown): void {
    for (const listener of this.listeners.get(event) || []) {
      try {
        listener(detail);
      } catch (error) {
        console.error(error);
      }
    }
  }

  private read(key: string): string | null {
    try {
      return this.options.storage ? this.options.storage.getItem(key) : null;
    } catch {
      return null;
    }
  }

  private write(key: string, value: string): void {
    try {
      this.options.storage?.setItem(key, value);
    } catch {
      // Storage blocked: the widget still works for this page.
    }
  }

  private remove(key: string): void {
    try {
      this.options.storage?.removeItem(key);
    } catch {
      // ignore
    }
  }
}

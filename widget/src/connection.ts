/** The visitor's websocket: reconnects with back-off (1 s doubling to 30 s, jitter), at once
 * when the browser comes back online, and always resumes after the last message held. */

import { Backoff } from "./backoff";
import type { Frame, MessageId } from "./protocol";

export interface ConnectionHooks {
  url(after: MessageId | null): string;
  after(): MessageId | null;
  onFrame(frame: Frame): void;
  onState(state: "connecting" | "open" | "closed"): void;
  /** The server refused the token (close code 4401): a new session is needed. */
  onRefused(): void;
  /** The chat is gone or this site may not embed it (4403, 4404): no more tries. */
  onGone(code: number): void;
}

/** No frame for this long (the server pings every 25 s): the connection is dead. */
const SILENCE_MS = 60000;

export class Connection {
  private socket: WebSocket | null = null;
  private retryHandle: ReturnType<typeof setTimeout> | null = null;
  private silenceHandle: ReturnType<typeof setTimeout> | null = null;
  private wanted = false;
  readonly backoff = new Backoff();

  constructor(private readonly hooks: ConnectionHooks) {}

  get open(): boolean {
    return !!this.socket && this.socket.readyState === WebSocket.OPEN;
  }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.connect();
  }

  stop(): void {
    this.wanted = false;
    this.clearRetry();
    this.drop();
  }

  /** Try now (the browser is back online, the tab is visible again). */
  kick(): void {
    if (!this.wanted) return;
    if (this.socket) return;
    this.clearRetry();
    this.connect();
  }

  /** Drop the connection and make a new one (new token, lost liveness). */
  restart(): void {
    if (!this.wanted) return;
    this.drop();
    this.clearRetry();
    this.connect();
  }

  send(data: unknown): void {
    if (this.open) this.socket?.send(JSON.stringify(data));
  }

  private connect(): void {
    this.hooks.onState("connecting");
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.hooks.url(this.hooks.after()));
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.backoff.reset();
      this.armSilence();
      this.hooks.onState("open");
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket !== socket) return;
      this.armSilence();
      let frame: Frame;
      try {
        frame = JSON.parse(String(event.data)) as Frame;
      } catch {
        return;
      }
      if (!frame || typeof frame !== "object") return;
      if (frame.type === "ping") {
        this.send({ type: "pong" });
        return;
      }
      this.hooks.onFrame(frame);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearSilence();
      this.hooks.onState("closed");
      if (!this.wanted) return;
      if (event.code === 4403 || event.code === 4404) {
        this.wanted = false;
        this.hooks.onGone(event.code);
        return;
      }
      if (event.code === 4401) this.hooks.onRefused();
      this.scheduleRetry();
    };
    // An error is followed by close; nothing more to do here.
    socket.onerror = () => undefined;
  }

  private drop(): void {
    const socket = this.socket;
    this.socket = null;
    this.clearSilence();
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close();
      } catch {
        // already closed
      }
      this.hooks.onState("closed");
    }
  }

  private scheduleRetry(): void {
    this.clearRetry();
    if (!this.wanted) return;
    this.retryHandle = setTimeout(() => {
      this.retryHandle = null;
      this.connect();
    }, this.backoff.next());
  }

  private clearRetry(): void {
    if (this.retryHandle !== null) clearTimeout(this.retryHandle);
    this.retryHandle = null;
  }

  private armSilence(): void {
    this.clearSilence();
    this.silenceHandle = setTimeout(() => this.restart(), SILENCE_MS);
  }

  private clearSilence(): void {
    if (this.silenceHandle !== null) clearTimeout(this.silenceHandle);
    this.silenceHandle = null;
  }
}

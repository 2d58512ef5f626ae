// The agents' websocket (/ws): events in order, each once, across reconnects.
//
// The server replays every event after `last_event_id` before going live, and may send an
// event both in the replay and live; this stream remembers the last id it delivered and
// drops anything at or below it, so listeners see each event exactly once. It reconnects
// with back-off after any close, resuming from that id.
import type { EventOut } from "../api/client";

/** The server's close code for missing, expired or revoked credentials. */
export const CLOSE_UNAUTHENTICATED = 4401;

export type StreamState = "connecting" | "live" | "offline";

export interface SocketLike {
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  close(code?: number, reason?: string): void;
  send(data: string): void;
}

export interface StreamOptions {
  url: (lastEventId: number | null) => string;
  open?: (url: string) => SocketLike;
  onEvent: (event: EventOut) => void;
  /** Every other typed frame (live-only ones such as `conversation.viewers`). */
  onFrame?: (frame: Frame) => void;
  onState?: (state: StreamState) => void;
  /** The server refused the credentials (close code 4401): the stream stops. */
  onUnauthorized?: () => void;
  /** Delays before each reconnect attempt, in ms (the last one repeats). */
  backoffMs?: number[];
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** A live-only frame of the server (not stored, never replayed). */
export interface Frame {
  type: string;
  [key: string]: unknown;
}

export class EventStream {
  lastEventId: number | null = null;
  state: StreamState = "offline";
  private socket: SocketLike | null = null;
  private attempts = 0;
  private timer: unknown = null;
  private stopped = true;

  constructor(private readonly options: StreamOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) (this.options.clearTimer ?? clearTimeout)(this.timer as number);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "bye");
    this.setState("offline");
  }

  /** Feeds one frame as the server sent it (exposed for tests). */
  receive(raw: string): void {
    let frame: { type?: string; event?: EventOut; last_event_id?: number };
    try {
      frame = JSON.parse(raw) as typeof frame;
    } catch {
      return;
    }
    if (frame.type === "hello") {
      this.attempts = 0;
      this.setState("live");
      // A first connection starts from now; a resumed one keeps its own position.
      if (this.lastEventId === null && typeof frame.last_event_id === "number") {
        this.lastEventId = frame.last_event_id;
      }
    } else if (frame.type === "event" && frame.event) {
      const id = frame.event.id;
      if (this.lastEventId !== null && id <= this.lastEventId) return; // seen already
      this.lastEventId = id;
      this.options.onEvent(frame.event);
    } else if (typeof frame.type === "string" && frame.type !== "event") {
      this.options.onFrame?.(frame as Frame);
    }
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState("connecting");
    const open = this.options.open ?? ((url: string) => new WebSocket(url) as SocketLike);
    const socket = open(this.options.url(this.lastEventId));
    this.socket = socket;
    socket.onmessage = (ev) => {
      if (this.socket === socket) this.receive(String(ev.data));
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (ev.code === CLOSE_UNAUTHENTICATED) {
        this.stop();
        this.options.onUnauthorized?.();
        return;
      }
      this.scheduleReconnect();
    };
    socket.onerror = () => undefined; // a close follows
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState("offline");
    const backoff = this.options.backoffMs ?? [250, 1000, 2000, 5000];
    const delay = backoff[Math.min(this.attempts, backoff.length - 1)] ?? 1000;
    this.attempts += 1;
    this.timer = (this.options.setTimer ?? setTimeout)(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private setState(state: StreamState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onState?.(state);
  }
}

/** /ws on this page's origin, resuming after `lastEventId` when there is one. */
export function socketUrl(lastEventId: number | null, location: Location = window.location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = lastEventId === null ? "" : `?last_event_id=${lastEventId}`;
  return `${scheme}//${location.host}/ws${query}`;
}

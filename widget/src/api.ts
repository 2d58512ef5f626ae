/** The visitor API over fetch: `Authorization: Visitor <token>`, JSON in and out, the one
 * error shape turned into an ApiError. A network failure is an ApiError with status 0. */

import type {
  Conversation,
  Message,
  MessageId,
  PreChat,
  SessionAnswer,
  User,
  VisitorEvent,
} from "./protocol";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
  }

  /** Worth trying again later: no network, a timeout, a rate limit or a server error. */
  get transient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export class Api {
  token: string | null = null;
  readonly base: string;

  constructor(
    readonly origin: string,
    readonly key: string,
  ) {
    this.base = `${origin}/widget/v1/${encodeURIComponent(key)}`;
  }

  session(body: { visitor_token?: string; user?: User }): Promise<SessionAnswer> {
    return this.json<SessionAnswer>("POST", "/session", body, false);
  }

  messages(
    after: MessageId | null,
    limit = 100,
  ): Promise<{ messages: Message[]; conversation?: Conversation | null }> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (after !== null) query.set("after", String(after));
    return this.json("GET", `/messages?${query}`);
  }

  send(body: { client_id: string; body: string; pre_chat?: PreChat }): Promise<Message> {
    return this.json<Message>("POST", "/messages", body);
  }

  attach(clientId: string, file: Blob & { name?: string }, body: string): Promise<Message> {
    const form = new FormData();
    form.append("file", file, file.name || "file");
    form.append("client_id", clientId);
    if (body) form.append("body", body);
    return this.request<Message>("POST", "/attachments", form);
  }

  typing(typing: boolean): Promise<void> {
    return this.json("POST", "/typing", { typing });
  }

  read(messageId: MessageId): Promise<void> {
    return this.json("POST", "/read", { message_id: messageId });
  }

  events(events: VisitorEvent[], keepalive = false): Promise<void> {
    return this.json("POST", "/events", { events }, true, keepalive);
  }

  offline(body: { name?: string; email: string; body: string; client_id: string }): Promise<unknown> {
    return this.json("POST", "/offline", body);
  }

  csat(body: { conversation_id: MessageId; rating: number; comment?: string }): Promise<void> {
    return this.json("POST", "/csat", body);
  }

  left(keepalive = false): Promise<void> {
    return this.json("POST", "/left", {}, true, keepalive);
  }

  socketUrl(after: MessageId | null): string {
    const url = new URL(`${this.base}/ws`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", this.token || "");
    if (after !== null) url.searchParams.set("after", String(after));
    return url.toString();
  }

  private json<T>(
    method: string,
    path: string,
    body?: unknown,
    auth = true,
    keepalive = false,
  ): Promise<T> {
    return this.request<T>(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      auth,
      keepalive,
    );
  }

  private async request<T>(
    method: string,
    path: string,
    body?: BodyInit,
    auth = true,
    keepalive = false,
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (typeof body === "string") headers["Content-Type"] = "application/json";
    if (auth && this.token) headers.Authorization = `Visitor ${this.token}`;
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        body,
        keepalive,
        credentials: "omit",
        mode: "cors",
      });
    } catch (error) {
      throw new ApiError(0, "network", error instanceof Error ? error.message : "network error");
    }
    if (response.status === 204) return undefined as T;
    let data: unknown = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const shape = (data as { error?: { code?: string; message?: string } } | null)?.error;
      const retryAfter = Number(response.headers.get("Retry-After"));
      throw new ApiError(
        response.status,
        shape?.code || `http_${response.status}`,
        shape?.message || response.statusText || "request failed",
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
      );
    }
    return data as T;
  }
}

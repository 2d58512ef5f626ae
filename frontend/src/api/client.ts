// The typed API client: types generated from omnidesk's OpenAPI schema (schema.d.ts, made by
// `make frontend`), calls through openapi-fetch. Browser sessions authenticate with the
// session cookie; unsafe requests also carry the CSRF token from login or /auth/me.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Conversation = Schemas["ConversationOut"];
export type Message = Schemas["MessageOut"];
export type Contact = Schemas["ContactOut"];
export type Inbox = Schemas["InboxOut"];
export type Me = Schemas["MeOut"];
export type Offer = Schemas["OfferOut"];
export type Agent = Schemas["AgentOut"];
export type AwayReason = Schemas["AwayReasonOut"];
export type EventOut = Schemas["EventOut"];
export type Presence = Agent["presence"];
export type Status = Conversation["status"];
export type Attachment = Schemas["AttachmentOut"];

export const CSRF_HEADER = "X-CSRF-Token";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token ?? null;
}

/** The CSRF header for a request made outside the client (an upload with progress). */
export function csrfHeaders(): Record<string, string> {
  return csrfToken ? { [CSRF_HEADER]: csrfToken } : {};
}

/** The one error shape of every 4xx: `{code, message, field}`. */
export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string | null;
  /** More about some errors (`required_fields_missing`: `{missing: [keys]}`). */
  details?: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }
}

let onUnauthorized: (() => void) | null = null;

/** What to do when the session is gone (a 401 outside the login calls). */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method) && csrfToken) {
      request.headers.set(CSRF_HEADER, csrfToken);
    }
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !new URL(request.url).pathname.startsWith("/api/v1/auth/")) {
      onUnauthorized?.();
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(csrf);

/** The data of an openapi-fetch result, or an ApiError in the server's error shape. */
export async function ok<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const body = (error ?? {}) as Partial<ApiErrorBody>;
    throw new ApiError(response.status, {
      code: body.code ?? "http_" + String(response.status),
      message: body.message ?? response.statusText,
      field: body.field ?? null,
      details: body.details,
    });
  }
  return data as T;
}

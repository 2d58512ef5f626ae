// The signed-in user: cookie session (POST /auth/login), CSRF token from login or /auth/me.
import { reactive } from "vue";
import { api, ok, setCsrfToken, type Me } from "../api/client";

export const session = reactive({ me: null as Me | null, checked: false });

/** Who is signed in (null: nobody); asks the server once. */
export async function loadMe(): Promise<Me | null> {
  const { data, response } = await api.GET("/api/v1/auth/me");
  session.checked = true;
  session.me = response.ok && data ? data : null;
  setCsrfToken(session.me?.csrf_token);
  return session.me;
}

export async function login(email: string, password: string): Promise<void> {
  const out = await ok(api.POST("/api/v1/auth/login", { body: { email, password } }));
  setCsrfToken((out as { csrf_token?: string | null }).csrf_token);
  await loadMe();
}

export async function logout(): Promise<void> {
  await api.POST("/api/v1/auth/logout");
  session.me = null;
  setCsrfToken(null);
}

type Role = "admin" | "supervisor" | "agent";

/** Supervisors and admins see the wallboard and the agent list. */
export function canSupervise(role: Role | undefined): boolean {
  return role === "supervisor" || role === "admin";
}

/** Only admins change settings. */
export function canAdminister(role: Role | undefined): boolean {
  return role === "admin";
}

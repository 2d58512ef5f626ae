import { createRouter, createWebHistory } from "vue-router";
import { setCsrfToken, whenUnauthorized } from "./api/client";
import { canAdminister, canSupervise, loadMe, session } from "./stores/session";
import DeskView from "./views/DeskView.vue";
import LoginView from "./views/LoginView.vue";
import ShellView from "./views/ShellView.vue";

export const router = createRouter({
  history: createWebHistory("/app/"),
  routes: [
    { path: "/login", name: "login", component: LoginView, meta: { public: true } },
    {
      path: "/",
      component: ShellView,
      children: [
        { path: "", name: "inbox", component: DeskView },
        { path: "conversations/:id(\\d+)", name: "conversation", component: DeskView, props: true },
        // Supervisor and admin screens load on first visit: agents never download them.
        {
          path: "supervisor",
          name: "supervisor",
          component: () => import("./views/SupervisorView.vue"),
          meta: { allowed: canSupervise },
        },
        {
          path: "supervisor/reports",
          name: "supervisor-reports",
          component: () => import("./views/ReportsView.vue"),
          meta: { allowed: canSupervise },
        },
        {
          path: "supervisor/watch/:id(\\d+)",
          name: "supervisor-watch",
          component: () => import("./components/supervisor/WatchView.vue"),
          props: true,
          meta: { allowed: canSupervise },
        },
        {
          path: "admin/:section?",
          name: "admin",
          component: () => import("./views/admin/AdminView.vue"),
          props: true,
          meta: { allowed: canAdminister },
        },
      ],
    },
    { path: "/:rest(.*)*", redirect: "/" },
  ],
});

type Allowed = (role: "admin" | "supervisor" | "agent" | undefined) => boolean;

router.beforeEach(async (to) => {
  if (!session.checked) await loadMe();
  if (!to.meta["public"] && !session.me) {
    return { name: "login", query: to.fullPath === "/" ? {} : { next: to.fullPath } };
  }
  if (to.name === "login" && session.me) return { name: "inbox" };
  const allowed = to.meta["allowed"] as Allowed | undefined;
  if (allowed && !allowed(session.me?.user.role)) return { name: "inbox" };
  return true;
});

// The session ended (expired, logged out elsewhere, signed out by a supervisor).
whenUnauthorized(() => {
  if (!session.me) return;
  session.me = null;
  setCsrfToken(null);
  const here = router.currentRoute.value.fullPath;
  void router.replace({ name: "login", query: here === "/" ? {} : { next: here } });
});

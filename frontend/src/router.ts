import { createRouter, createWebHistory } from "vue-router";
import { setCsrfToken, whenUnauthorized } from "./api/client";
import { loadMe, session } from "./stores/session";
import DeskView from "./views/DeskView.vue";
import LoginView from "./views/LoginView.vue";

export const router = createRouter({
  history: createWebHistory("/app/"),
  routes: [
    { path: "/login", name: "login", component: LoginView, meta: { public: true } },
    { path: "/", name: "inbox", component: DeskView },
    { path: "/conversations/:id(\\d+)", name: "conversation", component: DeskView, props: true },
    { path: "/:rest(.*)*", redirect: "/" },
  ],
});

router.beforeEach(async (to) => {
  if (!session.checked) await loadMe();
  if (!to.meta["public"] && !session.me) {
    return { name: "login", query: to.fullPath === "/" ? {} : { next: to.fullPath } };
  }
  if (to.name === "login" && session.me) return { name: "inbox" };
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

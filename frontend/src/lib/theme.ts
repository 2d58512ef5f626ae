// Light and dark themes: the system's choice (prefers-color-scheme) unless the user picked
// one, remembered in localStorage. The CSS reads `data-theme` on <html>.
import { ref } from "vue";

export type Theme = "light" | "dark";
const KEY = "omnidesk.theme";

function systemTheme(): Theme {
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function stored(): Theme | null {
  try {
    const value = localStorage.getItem(KEY);
    return value === "light" || value === "dark" ? value : null;
  } catch {
    return null;
  }
}

export const theme = ref<Theme>("light");

export function applyTheme(choice: Theme | null = stored()): void {
  theme.value = choice ?? systemTheme();
  document.documentElement.dataset["theme"] = theme.value;
}

export function toggleTheme(): void {
  const next: Theme = theme.value === "dark" ? "light" : "dark";
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // private mode: the choice lasts for this page
  }
  applyTheme(next);
}

/** The embed: `<script src="https://desk.example.com/widget.js" data-inbox="KEY" async>`.
 * It finds its own tag, takes the server's origin from its `src`, and adds one global,
 * `window.omnidesk`. Optional `window.omnideskSettings = {user: {id, hash, name, email}, locale}`. */

import type { KeyValue } from "./outbox";
import type { User } from "./protocol";
import { Widget, type WidgetEvent } from "./widget";

declare const __VERSION__: string;

interface HostSettings {
  user?: User | null;
  locale?: string;
}

export interface OmnideskApi {
  version: string;
  open(): void;
  close(): void;
  toggle(): void;
  identify(user: User | null): Promise<void>;
  on(event: WidgetEvent, listener: (detail: unknown) => void): () => void;
}

function findScript(): HTMLScriptElement | null {
  const current = document.currentScript;
  if (current instanceof HTMLScriptElement && current.dataset.inbox) return current;
  const tags = document.querySelectorAll<HTMLScriptElement>("script[data-inbox][src]");
  for (let i = tags.length - 1; i >= 0; i -= 1) {
    if (/widget(\.min)?\.js(\?|#|$)/.test(tags[i].src)) return tags[i];
  }
  return tags.length ? tags[tags.length - 1] : null;
}

function storage(): KeyValue | null {
  try {
    const s = window.localStorage;
    const probe = "omnidesk:probe";
    s.setItem(probe, "1");
    s.removeItem(probe);
    return s;
  } catch {
    return null;
  }
}

function boot(): void {
  const w = window as unknown as { omnidesk?: OmnideskApi; omnideskSettings?: HostSettings };
  if (w.omnidesk) return; // Loaded twice: the first one stays.
  const script = findScript();
  const key = script?.dataset.inbox;
  if (!script || !key) {
    console.warn("omnidesk: add data-inbox=\"<widget key>\" to the widget's script tag");
    return;
  }
  const origin = new URL(script.src, location.href).origin;
  const settings = w.omnideskSettings || {};
  const widget = new Widget({
    origin,
    key,
    user: settings.user || null,
    locale: settings.locale || script.dataset.locale || document.documentElement.lang || navigator.language,
    storage: storage(),
  });
  w.omnidesk = Object.freeze({
    version: __VERSION__,
    open: () => widget.open(),
    close: () => widget.close(),
    toggle: () => widget.toggle(),
    identify: (user: User | null) => widget.identify(user),
    on: (event: WidgetEvent, listener: (detail: unknown) => void) => widget.on(event, listener),
  });
  const start = () => widget.start();
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
}

boot();

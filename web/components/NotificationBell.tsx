"use client";

/**
 * The bell in the header: the unread count (live from `notification` frames), a list with
 * "mark read" and "mark all read"; while the tab is hidden, the title badge ("(2) CareConnect
 * Live"), a short sound (off unless turned on, stored in localStorage) and a desktop
 * notification (permission asked only from the "Turn on desktop notifications" button).
 */
import Link from "next/link";
import { useCallback, useEffect, useRef, useState } from "react";

import { api, paths } from "@/lib/api";
import { getHub } from "@/lib/hub";
import type { NotificationItem, NotificationPage } from "@/lib/types";

import { buttonClass } from "./ui";
import { useMessages } from "@/lib/i18n";

const SOUND_KEY = "careconnect.notification-sound";
/** A window event other components raise for what is shown live but not stored (a chat message). */
export const CHAT_ALERT = "careconnect:alert";

function beep(): void {
  try {
    const context = new AudioContext();
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.05;
    tone.connect(gain).connect(context.destination);
    tone.start();
    tone.stop(context.currentTime + 0.15);
  } catch {
    // no audio here: the badge and the list still tell
  }
}

export function NotificationBell() {
  const t = useMessages();
  const [items, setItems] = useState<NotificationItem[]>([]);
  const [unread, setUnread] = useState(0);
  const [open, setOpen] = useState(false);
  const [sound, setSound] = useState(
    () => typeof window !== "undefined" && window.localStorage.getItem(SOUND_KEY) === "on",
  );
  const [desktop, setDesktop] = useState<NotificationPermission | "unsupported">(() =>
    typeof Notification === "undefined" ? "unsupported" : Notification.permission,
  );
  const [missed, setMissed] = useState(0);
  const baseTitle = useRef<string>("");

  useEffect(() => {
    api
      .get<NotificationPage>(paths.notifications({ limit: 20 }))
      .then((page) => {
        setItems(page.items);
        setUnread(page.unread);
      })
      .catch(() => undefined); // shown as no notifications; the next frame or a reload tries again
  }, []);

  const alertHidden = useCallback(
    (title: string, body: string) => {
      if (document.visibilityState !== "hidden") return;
      setMissed((count) => count + 1);
      if (window.localStorage.getItem(SOUND_KEY) === "on") beep();
      if (typeof Notification !== "undefined" && Notification.permission === "granted") {
        try {
          new Notification(title, { body });
        } catch {
          // some browsers only allow it from a service worker
        }
      }
    },
    [],
  );

  useEffect(() => {
    const hub = getHub();
    const release = hub.acquire();
    const stop = hub.onNotification((notification) => {
      setItems((current) => [notification, ...current.filter((item) => item.id !== notification.id)].slice(0, 20));
      setUnread((count) => count + 1);
      alertHidden(notification.title, notification.body);
    });
    return () => {
      stop();
      release();
    };
  }, [alertHidden]);

  useEffect(() => {
    const onAlert = (event: Event) => {
      const detail = (event as CustomEvent<{ title: string; body: string }>).detail;
      alertHidden(detail.title, detail.body);
    };
    window.addEventListener(CHAT_ALERT, onAlert);
    return () => window.removeEventListener(CHAT_ALERT, onAlert);
  }, [alertHidden]);

  useEffect(() => {
    if (!baseTitle.current) baseTitle.current = document.title.replace(/^\(\d+\) /, "");
    document.title = missed > 0 ? `(${missed}) ${baseTitle.current}` : baseTitle.current;
  }, [missed]);

  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === "visible") setMissed(0);
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, []);

  async function markRead(id: string) {
    const updated = await api.post<NotificationItem>(paths.notificationRead(id));
    setItems((current) => current.map((item) => (item.id === id ? updated : item)));
    setUnread((count) => Math.max(0, count - 1));
  }

  async function markAll() {
    const page = await api.post<NotificationPage>(paths.notificationsReadAll());
    setItems(page.items);
    setUnread(page.unread);
  }

  function toggleSound() {
    const next = !sound;
    window.localStorage.setItem(SOUND_KEY, next ? "on" : "off");
    setSound(next);
  }

  async function askDesktop() {
    if (typeof Notification === "undefined") return;
    setDesktop(await Notification.requestPermission());
  }

  return (
    <div className="relative">
      <button
        type="button"
        className={buttonClass("ghost")}
        aria-expanded={open}
        aria-label={t.notificationBell.unreadLabel(unread)}
        onClick={() => setOpen(!open)}
        data-testid="bell"
      >
        <span aria-hidden="true">🔔</span>{" "}
        <span data-testid="bell-count" className={unread ? "font-bold text-blue-800" : "text-slate-600"}>
          {unread}
        </span>
      </button>
      {open ? (
        <div
          className="absolute right-0 z-10 mt-1 w-80 rounded border border-slate-200 bg-white p-2 text-sm shadow"
          data-testid="bell-list"
        >
          <div className="mb-2 flex items-center justify-between">
            <strong>{t.notificationBell.notifications}</strong>
            <button type="button" className={buttonClass("ghost")} onClick={markAll} disabled={unread === 0}>
              {t.notificationBell.markAllRead}
            </button>
          </div>
          {items.length === 0 ? <p className="text-slate-700">{t.notificationBell.nothingYet}</p> : null}
          <ul className="max-h-80 space-y-1 overflow-y-auto">
            {items.map((item) => (
              <li key={item.id} className={item.read_at ? "text-slate-600" : "font-semibold text-slate-900"}>
                <Link href={item.link || "/"} className="underline">
                  {item.title}
                </Link>
                <div className="font-normal">{item.body}</div>
                {item.read_at ? null : (
                  <button type="button" className="text-xs text-blue-800 underline" onClick={() => markRead(item.id)}>
                    {t.notificationBell.markRead}
                  </button>
                )}
              </li>
            ))}
          </ul>
          <div className="mt-2 flex flex-col gap-1 border-t border-slate-200 pt-2">
            <label className="flex items-center gap-2">
              <input type="checkbox" checked={sound} onChange={toggleSound} data-testid="bell-sound" />{t.notificationBell.playASoundWhile}
            </label>
            {desktop === "default" ? (
              <button type="button" className={buttonClass("secondary")} onClick={askDesktop}>
                {t.notificationBell.turnOnDesktopNotifications}
              </button>
            ) : desktop === "denied" ? (
              <p className="text-slate-700">{t.notificationBell.desktopNotificationsAreBlocked}</p>
            ) : null}
          </div>
        </div>
      ) : null}
    </div>
  );
}

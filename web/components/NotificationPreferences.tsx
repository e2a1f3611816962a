"use client";

/** Which mails the signed-in user gets (booking, reminders, summary); security mails always go. */
import { useEffect, useState } from "react";

import { api, paths } from "@/lib/api";
import type { NotificationPreferences as Preferences } from "@/lib/types";
import { useMessages } from "@/lib/i18n";

export function NotificationPreferences() {
  const t = useMessages();
  const [prefs, setPrefs] = useState<Preferences | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api
      .get<Preferences>(paths.notificationPreferences())
      .then(setPrefs)
      .catch(() => setError(t.notificationPreferences.loadFailed));
  }, [t]);

  async function toggle(key: keyof Preferences) {
    if (!prefs) return;
    try {
      setPrefs(await api.patch<Preferences>(paths.notificationPreferences(), { [key]: !prefs[key] }));
      setError(null);
    } catch {
      setError(t.notificationPreferences.saveFailed);
    }
  }

  return (
    <section aria-labelledby="mail-prefs" className="mx-auto mt-6 max-w-2xl px-4" data-testid="notification-preferences">
      <h2 id="mail-prefs" className="text-lg font-semibold">
        {t.notificationPreferences.emailNotifications}
      </h2>
      <p className="text-sm text-slate-700">{t.notificationPreferences.signInAndPassword}</p>
      {error ? <p role="alert">{error}</p> : null}
      {prefs
        ? (Object.keys(t.notificationPreferences.kinds) as (keyof Preferences)[]).map((key) => (
            <label key={key} className="mt-2 flex items-center gap-2">
              <input type="checkbox" checked={Boolean(prefs[key])} onChange={() => toggle(key)} data-testid={key} />
              {t.notificationPreferences.kinds[key]}
            </label>
          ))
        : null}
    </section>
  );
}

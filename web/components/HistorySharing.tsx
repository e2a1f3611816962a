"use client";

/** A patient's consent (API 1.1 share_history): may each of their doctors see the visits with the others? */
import { useState } from "react";

import { api, paths } from "@/lib/api";
import type { User } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { ErrorMessage, Section } from "./ui";
import { useMessages } from "@/lib/i18n";

export function HistorySharing() {
  const t = useMessages();
  const me = useApi<User>(paths.me());
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // The box shows the choice at once; a refused save puts it back and says why.
  const [choice, setChoice] = useState<boolean | null>(null);
  const shared = choice ?? me.data?.patient?.share_history ?? false;
  const setMe = me.setData;

  async function change(next: boolean) {
    setBusy(true);
    setError(null);
    setChoice(next);
    try {
      const saved = await api.patch<User>(paths.me(), { patient: { share_history: next } });
      setMe(() => saved);
    } catch (e) {
      setError(e);
    } finally {
      setChoice(null);
      setBusy(false);
    }
  }

  return (
    <Section id="history-sharing" title={t.historySharing.sharingYourHistory}>
      <div className="flex items-start gap-3">
        <input
          id="share-history"
          type="checkbox"
          className="mt-1 h-5 w-5 shrink-0"
          checked={shared}
          disabled={busy || !me.data}
          onChange={(e) => change(e.target.checked)}
          aria-describedby="share-history-hint"
          data-testid="share-history"
        />
        <div>
          <label htmlFor="share-history" className="text-sm font-medium text-slate-900">
            {t.historySharing.letEachDoctorI}
          </label>
          <p id="share-history-hint" className="text-xs text-slate-600">
            {t.historySharing.theySeeTheIntake}
          </p>
        </div>
      </div>
      <ErrorMessage error={error ?? me.error} />
    </Section>
  );
}

"use client";

import { useState } from "react";

import { api, paths } from "@/lib/api";
import { formatDateTime } from "@/lib/format";
import type { Invitable, Participant } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { buttonClass, ErrorMessage, Loading } from "./ui";
import { useMessages } from "@/lib/i18n";

/**
 * The doctor's assistants in a consultation: the bots invited into its room (a scribe, a
 * translator) and an invite picker listing the integrations an admin made. An invited bot reads
 * and writes the room's chat until the doctor removes it.
 */
export function AssistantsPanel({ consultationId, timeZone }: { consultationId: string; timeZone: string }) {
  const t = useMessages();
  const participants = useApi<Participant[]>(paths.consultationParticipants(consultationId));
  const invitable = useApi<Invitable[]>(paths.invitableIntegrations());
  const [choice, setChoice] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  if ((participants.loading && !participants.data) || (invitable.loading && !invitable.data)) {
    return <Loading label={t.assistantsPanel.loadingTheAssistants} />;
  }
  if (!participants.data || !invitable.data) return <ErrorMessage error={participants.error ?? invitable.error} />;
  const inRoom = new Set(participants.data.map((p) => p.client_id));
  const available = invitable.data.filter((i) => !inRoom.has(i.client_id));
  const selected = available.some((i) => i.client_id === choice) ? choice : (available[0]?.client_id ?? "");

  async function change(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
      participants.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="flex flex-col gap-3" data-testid="assistants">
      {participants.data.length === 0 ? (
        <p className="text-sm text-slate-800">{t.assistantsPanel.noAssistantIsIn}</p>
      ) : (
        <ul className="flex flex-col gap-2">
          {participants.data.map((p) => (
            <li key={p.client_id} className="flex flex-wrap items-center justify-between gap-2" data-testid="assistant" data-client-id={p.client_id}>
              <span className="text-sm">
                <span className="font-semibold">{p.name}</span>{" "}
                <span className="text-slate-800">
                  {t.assistantsPanel.invited}<time dateTime={p.invited_at}>{formatDateTime(p.invited_at, timeZone)}</time>
                </span>
              </span>
              <button
                type="button"
                className={buttonClass("secondary")}
                disabled={busy}
                onClick={() => change(() => api.delete(paths.consultationParticipant(consultationId, p.client_id)))}
                data-testid="assistant-remove"
                aria-label={t.assistantsPanel.removeName(p.name)}
              >
                {t.assistantsPanel.remove}
              </button>
            </li>
          ))}
        </ul>
      )}
      {invitable.data.length === 0 ? (
        <p className="text-sm text-slate-800">{t.assistantsPanel.noIntegrationIsSet}</p>
      ) : available.length === 0 ? null : (
        <form
          className="flex flex-wrap items-end gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            if (selected) void change(() => api.post(paths.consultationParticipants(consultationId), { client_id: selected }));
          }}
        >
          <label className="flex flex-col gap-1 text-sm font-semibold" htmlFor="assistant-choice">
            {t.assistantsPanel.inviteAnAssistant}
            <select
              id="assistant-choice"
              className="min-h-11 rounded-md border border-slate-400 bg-white px-3 text-base font-normal"
              value={selected}
              onChange={(e) => setChoice(e.target.value)}
              data-testid="assistant-choice"
            >
              {available.map((i) => (
                <option key={i.client_id} value={i.client_id}>
                  {i.name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className={buttonClass("primary")} disabled={busy || !selected} data-testid="assistant-invite">
            {busy ? t.assistantsPanel.inviting : t.assistantsPanel.invite}
          </button>
        </form>
      )}
      <ErrorMessage error={error} testId="assistants-error" />
    </div>
  );
}

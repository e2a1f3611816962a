"use client";

import { useEffect, useState } from "react";

import type { ConnectionState } from "@/lib/hub";
import { useMessages } from "@/lib/i18n";

const STYLE: Record<ConnectionState, string> = {
  idle: "border-slate-300 bg-slate-100 text-slate-800",
  connecting: "border-amber-300 bg-amber-50 text-amber-900",
  open: "border-green-300 bg-green-50 text-green-900",
  reconnecting: "border-amber-300 bg-amber-50 text-amber-900",
  offline: "border-red-300 bg-red-50 text-red-900",
  ended: "border-red-300 bg-red-50 text-red-900",
};

/** The live connection's state, in words (with a coloured dot that is never the only cue). */
export function ConnectionBadge({ state, retryAt, error }: { state: ConnectionState; retryAt?: number | null; error?: string | null }) {
  const t = useMessages();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (state !== "reconnecting" || !retryAt) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [state, retryAt]);
  const retryIn = state === "reconnecting" && retryAt ? Math.max(0, Math.round((retryAt - now) / 1000)) : null;
  return (
    <p
      role="status"
      data-testid="connection-state"
      data-state={state}
      className={`inline-flex items-center gap-2 rounded-full border px-3 py-1 text-xs font-semibold ${STYLE[state]}`}
    >
      <span aria-hidden="true" className={`h-2 w-2 rounded-full ${state === "open" ? "bg-green-700" : state === "reconnecting" || state === "connecting" ? "bg-amber-600" : "bg-red-700"}`} />
      {t.connectionBadge.states[state]}
      {retryIn !== null && retryIn > 0 ? t.connectionBadge.nextTryIn(retryIn) : ""}
      {error && state !== "open" ? ` — ${error}` : ""}
    </p>
  );
}

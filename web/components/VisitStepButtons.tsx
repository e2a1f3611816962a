"use client";

/**
 * Buttons for visit steps that open at a time (lib/visitRules.ts): disabled until the server
 * would accept them, saying when they open with a live countdown, enabled at that moment.
 */
import { formatTime } from "@/lib/format";
import { useNow } from "@/lib/useNow";
import { checkInOpensAt, noShowAllowedAt, untilText } from "@/lib/visitRules";

import { buttonClass } from "./ui";
import { useMessages } from "@/lib/i18n";

export function CheckInButton({
  startsAt,
  timeZone,
  busy,
  disabled = false,
  onCheckIn,
}: {
  startsAt: string;
  timeZone: string;
  busy: boolean;
  disabled?: boolean;
  onCheckIn: () => void;
}) {
  const t = useMessages();
  const opens = checkInOpensAt(startsAt);
  const now = useNow(opens);
  const early = now < opens.getTime();
  return (
    <div className="flex flex-col gap-2 sm:flex-row sm:items-center">
      <button
        type="button"
        className={buttonClass("primary")}
        onClick={onCheckIn}
        disabled={early || disabled}
        aria-describedby={early ? "check-in-opens" : undefined}
        data-testid="check-in"
      >
        {busy ? t.visitStepButtons.checkingIn : t.visitStepButtons.checkInNow}
      </button>
      {early ? (
        <p id="check-in-opens" className="text-sm text-slate-800" data-testid="check-in-opens" data-opens-at={opens.toISOString()}>
          {t.visitStepButtons.checkInOpensAt}<time dateTime={opens.toISOString()}>{formatTime(opens.toISOString(), timeZone)}</time>,{" "}
          <span data-testid="check-in-countdown">{untilText(opens, now)}</span>.
        </p>
      ) : null}
    </div>
  );
}

export function NoShowButton({
  startsAt,
  timeZone,
  busy,
  disabled = false,
  onNoShow,
}: {
  startsAt: string;
  timeZone: string;
  busy: boolean;
  disabled?: boolean;
  onNoShow: () => void;
}) {
  const t = useMessages();
  const allowed = noShowAllowedAt(startsAt);
  const now = useNow(allowed, 15_000);
  const early = now < allowed.getTime();
  return (
    <span className="inline-flex flex-col gap-1">
      <button
        type="button"
        className={buttonClass("danger")}
        disabled={early || disabled}
        onClick={onNoShow}
        aria-describedby={early && !disabled ? "no-show-allowed" : undefined}
        data-testid="no-show"
      >
        {busy ? t.visitStepButtons.marking : t.visitStepButtons.markAsNoShow}
      </button>
      {early && !disabled ? (
        <span id="no-show-allowed" className="text-xs text-slate-700" data-testid="no-show-allowed">
          {t.visitStepButtons.possibleFrom}{formatTime(allowed.toISOString(), timeZone)}, {untilText(allowed, now)}
        </span>
      ) : null}
    </span>
  );
}

"use client";

import type { DisplayZone } from "@/lib/displayZone";
import { useMessages } from "@/lib/i18n";

const label = (zone: string) => zone.replace(/_/g, " ");

/** "Times in: This device (New York) | My profile (Paris)", shown only when the two differ. */
export function TimeZoneSwitch({ display }: { display: DisplayZone }) {
  const t = useMessages();
  if (!display.differs) {
    return (
      <p className="text-xs text-slate-700" data-testid="zone-note">
        {t.timeZoneSwitch.timesIn}{label(display.zone)}
      </p>
    );
  }
  const option = (choice: "device" | "profile", text: string, zone: string) => {
    const active = display.choice === choice;
    return (
      <button
        type="button"
        aria-pressed={active}
        onClick={() => display.choose(choice)}
        data-testid={`zone-${choice}`}
        className={`min-h-11 rounded-md border px-3 py-1 text-sm font-semibold ${
          active ? "border-blue-800 bg-blue-700 text-white" : "border-slate-400 bg-white text-slate-900 hover:bg-slate-100"
        }`}
      >
        {text} <span className="font-normal">({label(zone)})</span>
      </button>
    );
  };
  return (
    <div role="group" aria-label={t.timeZoneSwitch.showTimesIn} className="flex flex-wrap items-center gap-2 text-sm" data-testid="zone-switch" data-zone={display.zone}>
      <span className="text-slate-800">{t.timeZoneSwitch.timesIn2}</span>
      {option("device", t.timeZoneSwitch.thisDevice, display.deviceZone)}
      {option("profile", t.timeZoneSwitch.myProfile, display.profileZone)}
    </div>
  );
}

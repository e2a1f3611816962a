"use client";

import { useMemo, useState } from "react";

import { paths } from "@/lib/api";
import { formatDay, formatTime, localDateKey } from "@/lib/format";
import type { Slot, SlotList } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { buttonClass, ErrorMessage, Loading } from "./ui";

const DAY_MS = 86_400_000;
const WINDOW_DAYS = 7;

/** The free slots of one doctor, a week at a time, shown in the viewer's own time zone. */
export function SlotPicker({
  doctorId,
  timeZone,
  selected,
  onPick,
  refreshKey = 0,
  label = "Choose a time",
}: {
  doctorId: string;
  timeZone: string;
  selected: string | null;
  onPick: (slot: Slot) => void;
  /** Change it to load the slots again (after a slot was taken). */
  refreshKey?: number;
  label?: string;
}) {
  const [start] = useState(() => Date.now());
  const [week, setWeek] = useState(0);
  const from = new Date(start + week * WINDOW_DAYS * DAY_MS);
  const to = new Date(from.getTime() + WINDOW_DAYS * DAY_MS);
  const path = paths.doctorSlots(doctorId, from, to);
  const slots = useApi<SlotList>(path, { refresh: refreshKey });

  const days = useMemo(() => {
    const groups = new Map<string, Slot[]>();
    for (const slot of slots.data?.slots ?? []) {
      const key = localDateKey(slot.starts_at, timeZone);
      const list = groups.get(key) ?? [];
      list.push(slot);
      groups.set(key, list);
    }
    return [...groups.entries()];
  }, [slots.data, timeZone]);

  return (
    <div className="flex flex-col gap-3" data-testid="slot-picker">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h3 className="text-base font-semibold">{label}</h3>
        <p className="text-xs text-slate-700" data-testid="slot-timezone">
          Times shown in your time zone: {timeZone.replace(/_/g, " ")}
        </p>
      </div>
      <div className="flex gap-2">
        <button type="button" className={buttonClass("secondary")} disabled={week === 0} onClick={() => setWeek((w) => w - 1)}>
          Earlier
        </button>
        <button type="button" className={buttonClass("secondary")} disabled={week >= 4} onClick={() => setWeek((w) => w + 1)}>
          Later
        </button>
      </div>
      {slots.loading && !slots.data ? <Loading label="Loading free times…" /> : null}
      <ErrorMessage error={slots.error} />
      {!slots.loading && slots.data && days.length === 0 ? (
        <p className="text-sm text-slate-700" data-testid="no-slots">
          No free times between {formatDay(from.toISOString(), timeZone)} and {formatDay(to.toISOString(), timeZone)}.
          Try later dates.
        </p>
      ) : null}
      {days.map(([key, daySlots]) => (
        <fieldset key={key} className="flex flex-col gap-2">
          <legend className="text-sm font-semibold text-slate-900">{formatDay(daySlots[0]!.starts_at, timeZone)}</legend>
          <div className="grid grid-cols-3 gap-2 sm:grid-cols-4 lg:grid-cols-6">
            {daySlots.map((slot) => {
              const isSelected = selected === slot.starts_at;
              return (
                <button
                  key={slot.starts_at}
                  type="button"
                  aria-pressed={isSelected}
                  aria-label={`${formatDay(slot.starts_at, timeZone)} at ${formatTime(slot.starts_at, timeZone)}`}
                  onClick={() => onPick(slot)}
                  data-testid="slot"
                  data-starts-at={slot.starts_at}
                  className={`min-h-11 rounded-md border px-2 py-2 text-sm font-semibold ${
                    isSelected ? "border-blue-800 bg-blue-700 text-white" : "border-slate-400 bg-white text-slate-900 hover:bg-blue-50"
                  }`}
                >
                  {formatTime(slot.starts_at, timeZone)}
                </button>
              );
            })}
          </div>
        </fieldset>
      ))}
    </div>
  );
}

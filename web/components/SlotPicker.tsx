"use client";

import { useMemo, useState } from "react";

import { paths } from "@/lib/api";
import { formatDay, formatTime, localDateKey } from "@/lib/format";
import type { Slot, SlotList } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { ErrorMessage } from "./ui";
import { useMessages } from "@/lib/i18n";

const DAY_MS = 86_400_000;
const WINDOW_DAYS = 7;
const MAX_WEEKS = 8;

function dayParts(key: string): { weekday: string; day: string; date: string } {
  // Noon UTC of the calendar day: the same date in every zone within ±12 h.
  const noon = new Date(`${key}T12:00:00Z`);
  return {
    weekday: new Intl.DateTimeFormat(undefined, { weekday: "short", timeZone: "UTC" }).format(noon),
    day: new Intl.DateTimeFormat(undefined, { day: "numeric", timeZone: "UTC" }).format(noon),
    date: new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" }).format(noon),
  };
}

/**
 * The free slots of one doctor as a day strip (a week of days, each with its number of free
 * times) and the free times of the chosen day only, in the viewer's time zone. `hidden` drops
 * slots known to be gone (just taken by someone else) before the list reloads.
 */
export function SlotPicker({
  doctorId,
  timeZone,
  selected,
  onPick,
  refreshKey = 0,
  hidden,
  label,
}: {
  doctorId: string;
  timeZone: string;
  selected: string | null;
  onPick: (slot: Slot) => void;
  /** Change it to load the slots again (after a slot was taken). */
  refreshKey?: number;
  hidden?: ReadonlySet<string>;
  label?: string;
}) {
  const t = useMessages();
  const [start] = useState(() => Date.now());
  const [week, setWeek] = useState(0);
  const [chosenDay, setChosenDay] = useState<string | null>(null);
  const from = new Date(start + week * WINDOW_DAYS * DAY_MS);
  const to = new Date(from.getTime() + WINDOW_DAYS * DAY_MS);
  const slots = useApi<SlotList>(paths.doctorSlots(doctorId, from, to), { refresh: refreshKey });

  const { days, byDay } = useMemo(() => {
    const groups = new Map<string, Slot[]>();
    for (const slot of slots.data?.slots ?? []) {
      if (hidden?.has(slot.starts_at)) continue;
      const key = localDateKey(slot.starts_at, timeZone);
      const list = groups.get(key) ?? [];
      list.push(slot);
      groups.set(key, list);
    }
    // Every calendar day of the window, free times or not, so the strip keeps its shape.
    const keys: string[] = [];
    for (let t = from.getTime(); t < to.getTime() + DAY_MS; t += DAY_MS) {
      const key = localDateKey(new Date(t), timeZone);
      if (!keys.includes(key) && keys.length < WINDOW_DAYS) keys.push(key);
    }
    return { days: keys, byDay: groups };
    // `from`/`to` follow `week` and `start`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [slots.data, timeZone, hidden, week, start]);

  const firstFree = days.find((d) => (byDay.get(d)?.length ?? 0) > 0) ?? null;
  const day = chosenDay && days.includes(chosenDay) && (byDay.get(chosenDay)?.length ?? 0) > 0 ? chosenDay : firstFree;
  const times = day ? (byDay.get(day) ?? []) : [];
  const loading = slots.loading && !slots.data;

  function moveWeek(delta: number) {
    setWeek((w) => w + delta);
    setChosenDay(null);
  }

  return (
    <div className="flex flex-col gap-3" data-testid="slot-picker">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h3 className="text-base font-semibold">{label ?? t.slotPicker.chooseATime}</h3>
        <p className="text-xs text-slate-700" data-testid="slot-timezone">
          {t.slotPicker.timesShownIn}{timeZone.replace(/_/g, " ")}
        </p>
      </div>
      <div className="flex items-stretch gap-1">
        <button
          type="button"
          className="min-h-11 min-w-8 rounded-md border border-slate-400 bg-white px-1 text-lg font-semibold text-slate-900 hover:bg-slate-100 disabled:text-slate-400"
          disabled={week === 0}
          onClick={() => moveWeek(-1)}
          aria-label={t.slotPicker.earlierDays}
          data-testid="days-earlier"
        >
          ‹
        </button>
        <div className="grid min-w-0 flex-1 grid-cols-7 gap-1" role="group" aria-label={t.slotPicker.days} data-testid="day-strip">
          {days.map((key) => {
            const count = byDay.get(key)?.length ?? 0;
            const { weekday, day: dayNumber, date } = dayParts(key);
            const active = key === day;
            return (
              <button
                key={key}
                type="button"
                aria-pressed={active}
                disabled={count === 0}
                onClick={() => setChosenDay(key)}
                data-testid="day"
                data-date={key}
                data-count={count}
                className={`flex min-h-14 flex-col items-center justify-center rounded-md border px-0.5 py-1 text-xs leading-tight ${
                  active
                    ? "border-blue-800 bg-blue-700 text-white"
                    : count === 0
                      ? "border-slate-200 bg-slate-50 text-slate-500"
                      : "border-slate-400 bg-white text-slate-900 hover:bg-blue-50"
                }`}
              >
                <span aria-hidden="true" className="font-semibold">
                  {weekday}
                </span>
                <span aria-hidden="true" className="text-sm font-bold">
                  {dayNumber}
                </span>
                <span aria-hidden="true" className={active ? "text-white" : "text-slate-700"}>
                  {loading ? "…" : count === 0 ? "–" : count}
                </span>
                <span className="sr-only">
                  {date}: {loading ? t.slotPicker.loading : count === 0 ? t.slotPicker.noFreeTimes : t.slotPicker.freeTimes(count)}
                </span>
              </button>
            );
          })}
        </div>
        <button
          type="button"
          className="min-h-11 min-w-8 rounded-md border border-slate-400 bg-white px-1 text-lg font-semibold text-slate-900 hover:bg-slate-100 disabled:text-slate-400"
          disabled={week >= MAX_WEEKS - 1}
          onClick={() => moveWeek(1)}
          aria-label={t.slotPicker.laterDays}
          data-testid="days-later"
        >
          ›
        </button>
      </div>
      <ErrorMessage error={slots.error} />
      {/* The times of one day; the space is kept while loading so nothing below jumps. */}
      <div className="min-h-28" aria-busy={loading} data-testid="day-times">
        {loading ? (
          <div className="grid grid-cols-3 gap-2 sm:grid-cols-4 lg:grid-cols-6" aria-hidden="true" data-testid="slots-skeleton">
            {Array.from({ length: 6 }, (_, i) => (
              <div key={i} className="h-11 animate-pulse rounded-md bg-slate-200" />
            ))}
          </div>
        ) : day ? (
          <fieldset className="flex flex-col gap-2">
            <legend className="mb-2 text-sm font-semibold text-slate-900" data-testid="day-title">
              {formatDay(times[0]!.starts_at, timeZone)}: {times.length}{t.slotPicker.free}{times.length === 1 ? t.slotPicker.time : t.slotPicker.times}
            </legend>
            <div className="grid grid-cols-3 gap-2 sm:grid-cols-4 lg:grid-cols-6">
              {times.map((slot) => {
                const isSelected = selected === slot.starts_at;
                return (
                  <button
                    key={slot.starts_at}
                    type="button"
                    aria-pressed={isSelected}
                    aria-label={t.slotPicker.dayAtTime(formatDay(slot.starts_at, timeZone), formatTime(slot.starts_at, timeZone))}
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
        ) : slots.data ? (
          <p className="text-sm text-slate-700" data-testid="no-slots">
            {t.slotPicker.noFreeTimesBetween}{formatDay(from.toISOString(), timeZone)}{t.slotPicker.and}{formatDay(new Date(to.getTime() - 1).toISOString(), timeZone)}.
            {week < MAX_WEEKS - 1 ? t.slotPicker.tryLaterDaysWith : ""}
          </p>
        ) : null}
      </div>
    </div>
  );
}

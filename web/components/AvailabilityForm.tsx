"use client";

import { useState, type FormEvent } from "react";

import { api, paths } from "@/lib/api";
import { fieldError } from "@/lib/problems";
import type { Availability, AvailabilityException, WeeklyHours } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { TimeZoneSelect } from "./TimeZoneSelect";
import { buttonClass, ErrorMessage, Loading, Notice, TextField } from "./ui";
import { useMessages } from "@/lib/i18n";

const DEFAULT: Availability = {
  timezone: "UTC",
  slot_minutes: 30,
  min_notice_minutes: 60,
  horizon_days: 30,
  weekly: [0, 1, 2, 3, 4].map((weekday) => ({ weekday, start: "09:00", end: "17:00" })),
  exceptions: [],
};

/** A doctor's weekly hours, slot length, notice, horizon and days off. */
export function AvailabilityForm({ fallbackTimeZone }: { fallbackTimeZone: string }) {
  const t = useMessages();
  const availability = useApi<Availability>(paths.myAvailability(), {
    fallbackOn404: { ...DEFAULT, timezone: fallbackTimeZone },
  });
  if (availability.loading && !availability.data) return <Loading label={t.availabilityForm.loadingYourAvailability} />;
  if (!availability.data) return <ErrorMessage error={availability.error} />;
  return <AvailabilityEditor initial={availability.data} onSaved={(saved) => availability.setData(() => saved)} />;
}

function AvailabilityEditor({ initial, onSaved }: { initial: Availability; onSaved: (saved: Availability) => void }) {
  const t = useMessages();
  const [form, setForm] = useState<Availability>(initial);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  const update = (patch: Partial<Availability>) => {
    setSaved(false);
    setForm((f) => ({ ...f, ...patch }));
  };
  const setWeekly = (weekly: WeeklyHours[]) => update({ weekly });
  const setExceptions = (exceptions: AvailabilityException[]) => update({ exceptions });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    const body: Availability = {
      ...form,
      weekly: [...form.weekly].sort((a, b) => a.weekday - b.weekday || a.start.localeCompare(b.start)),
      exceptions: form.exceptions.map((e) => (e.start && e.end ? e : { date: e.date })),
    };
    try {
      const result = await api.put<Availability>(paths.myAvailability(), body);
      const next = result ?? body;
      setForm(next);
      onSaved(next);
      setSaved(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="flex flex-col gap-5" data-testid="availability-form" noValidate>
      <div className="grid gap-4 sm:grid-cols-2">
        <TimeZoneSelect id="avail-timezone" value={form.timezone} onChange={(timezone) => update({ timezone })} error={fieldError(error, "timezone")} />
        <TextField
          id="avail-slot"
          label={t.availabilityForm.slotLengthMinutes}
          type="number"
          inputMode="numeric"
          min={10}
          max={120}
          step={5}
          value={form.slot_minutes}
          onChange={(e) => update({ slot_minutes: Number(e.target.value) })}
          error={fieldError(error, "slot_minutes")}
          hint={t.availabilityForm.n10To120Minutes}
        />
        <TextField
          id="avail-notice"
          label={t.availabilityForm.minimumNoticeMinutes}
          type="number"
          inputMode="numeric"
          min={0}
          value={form.min_notice_minutes}
          onChange={(e) => update({ min_notice_minutes: Number(e.target.value) })}
          error={fieldError(error, "min_notice_minutes")}
          hint={t.availabilityForm.howSoonBeforeA}
        />
        <TextField
          id="avail-horizon"
          label={t.availabilityForm.bookingHorizonDays}
          type="number"
          inputMode="numeric"
          min={1}
          value={form.horizon_days}
          onChange={(e) => update({ horizon_days: Number(e.target.value) })}
          error={fieldError(error, "horizon_days")}
          hint={t.availabilityForm.howFarAheadPatients}
        />
      </div>

      <fieldset className="flex flex-col gap-3" data-testid="weekly-hours">
        <legend className="mb-2 text-base font-semibold">{t.availabilityForm.weeklyHours}</legend>
        {t.weekdays.map((dayName, weekday) => {
          const rows = form.weekly.map((w, index) => ({ w, index })).filter(({ w }) => w.weekday === weekday);
          return (
            <div key={dayName} className="flex flex-col gap-2 rounded-md border border-slate-200 p-3" data-testid={`weekday-${weekday}`}>
              <div className="flex flex-wrap items-center justify-between gap-2">
                <h3 className="text-sm font-semibold">{dayName}</h3>
                <button
                  type="button"
                  className={buttonClass("ghost")}
                  onClick={() => setWeekly([...form.weekly, { weekday, start: "09:00", end: "17:00" }])}
                  data-testid={`weekday-${weekday}-add`}
                >
                  {t.availabilityForm.addHours}<span className="sr-only">{t.availabilityForm.on}{dayName}</span>
                </button>
              </div>
              {rows.length === 0 ? <p className="text-sm text-slate-700">{t.availabilityForm.closed}</p> : null}
              {rows.map(({ w, index }, n) => (
                <div key={index} className="flex flex-wrap items-end gap-2">
                  <TimeInput
                    id={`weekly-${weekday}-${n}-start`}
                    label={t.availabilityForm.dayFrom(dayName)}
                    value={w.start}
                    onChange={(start) => setWeekly(form.weekly.map((x, i) => (i === index ? { ...x, start } : x)))}
                  />
                  <TimeInput
                    id={`weekly-${weekday}-${n}-end`}
                    label={t.availabilityForm.dayUntil(dayName)}
                    value={w.end}
                    onChange={(end) => setWeekly(form.weekly.map((x, i) => (i === index ? { ...x, end } : x)))}
                  />
                  <button type="button" className={buttonClass("secondary")} onClick={() => setWeekly(form.weekly.filter((_, i) => i !== index))}>
                    {t.availabilityForm.remove}<span className="sr-only"> {dayName}{t.availabilityForm.hours}{w.start}{t.availabilityForm.to}{w.end}</span>
                  </button>
                </div>
              ))}
            </div>
          );
        })}
      </fieldset>

      <fieldset className="flex flex-col gap-3" data-testid="exceptions">
        <legend className="mb-2 text-base font-semibold">{t.availabilityForm.daysOffAndSpecial}</legend>
        <p className="text-sm text-slate-700">{t.availabilityForm.leaveTheTimesEmpty}</p>
        {form.exceptions.map((exception, index) => (
          <div key={index} className="flex flex-wrap items-end gap-2 rounded-md border border-slate-200 p-3">
            <TextField
              id={`exception-${index}-date`}
              label={t.availabilityForm.date}
              type="date"
              value={exception.date}
              onChange={(e) => setExceptions(form.exceptions.map((x, i) => (i === index ? { ...x, date: e.target.value } : x)))}
              className="w-auto"
            />
            <TimeInput
              id={`exception-${index}-start`}
              label={t.availabilityForm.fromOptional}
              value={exception.start ?? ""}
              onChange={(start) => setExceptions(form.exceptions.map((x, i) => (i === index ? { ...x, start: start || null } : x)))}
            />
            <TimeInput
              id={`exception-${index}-end`}
              label={t.availabilityForm.untilOptional}
              value={exception.end ?? ""}
              onChange={(end) => setExceptions(form.exceptions.map((x, i) => (i === index ? { ...x, end: end || null } : x)))}
            />
            <button type="button" className={buttonClass("secondary")} onClick={() => setExceptions(form.exceptions.filter((_, i) => i !== index))}>
              {t.availabilityForm.remove}<span className="sr-only">{t.availabilityForm.theExceptionOn}{exception.date || t.availabilityForm.thisDate}</span>
            </button>
          </div>
        ))}
        <div>
          <button
            type="button"
            className={buttonClass("secondary")}
            onClick={() => setExceptions([...form.exceptions, { date: "", start: null, end: null }])}
            data-testid="exception-add"
          >
            {t.availabilityForm.addADayOff}
          </button>
        </div>
      </fieldset>

      <ErrorMessage error={error} inline={["timezone", "slot_minutes", "min_notice_minutes", "horizon_days"]} />
      {saved ? <Notice testId="availability-saved">{t.availabilityForm.yourAvailabilityIsSaved}</Notice> : null}
      <div>
        <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="availability-save">
          {busy ? t.availabilityForm.saving : t.availabilityForm.saveAvailability}
        </button>
      </div>
    </form>
  );
}

function TimeInput({ id, label, value, onChange }: { id: string; label: string; value: string; onChange: (value: string) => void }) {
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium">
        {label}
      </label>
      <input
        id={id}
        type="time"
        step={300}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        className="min-h-11 rounded-md border border-slate-400 bg-white px-3 py-2 text-base"
      />
    </div>
  );
}

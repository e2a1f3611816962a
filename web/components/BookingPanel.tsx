"use client";

import Link from "next/link";
import { useEffect, useRef, useState, type FormEvent } from "react";

import { api, ApiError, download, newId, paths } from "@/lib/api";
import { formatDateTime, formatDay, formatTime } from "@/lib/format";
import { check, fieldError, rules } from "@/lib/problems";
import type { Appointment, DoctorCardData, Slot } from "@/lib/types";
import { CHECK_IN_OPENS_MINUTES, checkInOpensAt } from "@/lib/visitRules";

import { SlotPicker } from "./SlotPicker";
import { buttonClass, ErrorMessage, TextField } from "./ui";
import { useMessages } from "@/lib/i18n";

const REASON_MAX = 1000;

/**
 * Booking with one doctor on any screen: the day strip and the day's times, then a bar that stays
 * at the bottom of the screen with the chosen time, the reason (asked here once; the intake form
 * reuses it) and "Book". A time someone else just took is dropped from the list with a plain
 * message. After booking, the confirmation with the next steps replaces the picker.
 */
export function BookingPanel({
  doctor,
  timeZone,
  refreshKey,
  onBooked,
  onReschedule,
  onCancel,
}: {
  doctor: DoctorCardData;
  timeZone: string;
  refreshKey: number;
  onBooked: (appointment: Appointment) => void;
  onReschedule: (appointment: Appointment) => void;
  onCancel: (appointment: Appointment) => Promise<void>;
}) {
  const t = useMessages();
  const [slot, setSlot] = useState<Slot | null>(null);
  const [reason, setReason] = useState("");
  const [key, setKey] = useState(() => newId());
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [taken, setTaken] = useState<ReadonlySet<string>>(() => new Set());
  const [takenNotice, setTakenNotice] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [booked, setBooked] = useState<Appointment | null>(null);

  function pick(s: Slot) {
    setSlot(s);
    setError(null);
    setTakenNotice(null);
    setKey(newId()); // a new attempt; retries of this one reuse the key
  }

  async function book(event: FormEvent) {
    event.preventDefault();
    if (!slot) return;
    const invalid = check([rules.required("reason", reason, t.problems.theReasonForTheVisit), rules.max("reason", reason, REASON_MAX, t.problems.theReason)]);
    setError(invalid);
    if (invalid) return;
    setBusy(true);
    try {
      const created = await api.post<Appointment>(
        paths.appointments(),
        { doctor_id: doctor.id, starts_at: slot.starts_at, reason: reason.trim() },
        { headers: { "Idempotency-Key": key } },
      );
      setBooked(created);
      setSlot(null);
      setReason("");
      onBooked(created);
    } catch (e) {
      if (e instanceof ApiError && (e.code === "slot_taken")) {
        // Gone: out of the list at once, the bar closes, the list reloads with what is free now.
        setTaken((prev) => new Set(prev).add(slot.starts_at));
        setTakenNotice(
          `Sorry, ${formatTime(slot.starts_at, timeZone)} on ${formatDay(slot.starts_at, timeZone)} was just booked by someone else. Please choose another time.`,
        );
        setSlot(null);
        setError(null);
      } else {
        setError(e);
      }
      setReload((r) => r + 1);
    } finally {
      setBusy(false);
    }
  }

  if (booked) {
    return (
      <Confirmation
        appointment={booked}
        timeZone={timeZone}
        onAnother={() => setBooked(null)}
        onReschedule={() => onReschedule(booked)}
        onCancel={async () => {
          await onCancel(booked);
          setBooked(null);
        }}
      />
    );
  }

  return (
    <div className="flex flex-col gap-4" data-testid="booking">
      {takenNotice ? (
        <p role="alert" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" data-testid="slot-taken">
          {takenNotice}
        </p>
      ) : null}
      <SlotPicker
        doctorId={doctor.id}
        timeZone={timeZone}
        selected={slot?.starts_at ?? null}
        onPick={pick}
        refreshKey={refreshKey + reload}
        hidden={taken}
        label={t.bookingPanel.freeTimesWith(doctor.full_name)}
      />
      {slot ? (
        <form
          onSubmit={book}
          noValidate
          className="sticky bottom-0 z-20 -mx-4 flex flex-col gap-3 border-t-2 border-blue-700 bg-white px-4 py-3 shadow-[0_-4px_12px_rgba(15,23,42,0.15)] sm:flex-row sm:items-end"
          data-testid="booking-bar"
          aria-label={t.bookingPanel.yourBooking}
        >
          <div className="flex min-w-0 flex-col sm:w-64">
            <p className="text-xs text-slate-700">{t.bookingPanel.yourChoice}</p>
            <p className="font-semibold text-slate-900" data-testid="booking-summary">
              {formatDateTime(slot.starts_at, timeZone)}
            </p>
            <p className="truncate text-sm text-slate-800">{doctor.full_name}</p>
          </div>
          <div className="min-w-0 flex-1">
            <TextField
              id="booking-reason"
              label={t.bookingPanel.reasonForTheVisit}
              required
              maxLength={REASON_MAX}
              autoComplete="off"
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              error={fieldError(error, "reason")}
            />
          </div>
          <button type="submit" className={buttonClass("primary", "sm:w-40")} disabled={busy} data-testid="booking-submit">
            {busy ? t.bookingPanel.booking : t.bookingPanel.bookThisTime}
          </button>
          {error ? (
            <div className="sm:basis-full">
              <ErrorMessage error={error} inline={["reason"]} />
            </div>
          ) : null}
        </form>
      ) : (
        <ErrorMessage error={error} />
      )}
    </div>
  );
}

function Confirmation({
  appointment,
  timeZone,
  onAnother,
  onReschedule,
  onCancel,
}: {
  appointment: Appointment;
  timeZone: string;
  onAnother: () => void;
  onReschedule: () => void;
  onCancel: () => Promise<void>;
}) {
  const t = useMessages();
  const heading = useRef<HTMLHeadingElement>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [busy, setBusy] = useState(false);
  const a = appointment;
  const link = `/consultation/${a.id}`;
  const opens = checkInOpensAt(a.starts_at);

  useEffect(() => {
    heading.current?.scrollIntoView({ block: "start" });
    heading.current?.focus();
  }, []);

  async function calendar() {
    setError(null);
    try {
      await download(paths.appointmentCalendar(a.id), `careconnect-${a.id}.ics`);
    } catch (e) {
      setError(e);
    }
  }

  async function cancel() {
    setBusy(true);
    setError(null);
    try {
      await onCancel();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="flex flex-col gap-4 rounded-lg border border-green-300 bg-green-50 p-4" data-testid="booking-confirmation" data-appointment-id={a.id}>
      <h3 ref={heading} tabIndex={-1} className="scroll-mt-4 text-xl font-bold text-green-900 focus:outline-none">
        {t.bookingPanel.youAreBooked}
      </h3>
      <p className="text-base text-slate-900" data-testid="notice">
        {t.bookingPanel.bookedWith}{a.doctor.full_name}{t.bookingPanel.on}<time dateTime={a.starts_at}>{formatDateTime(a.starts_at, timeZone)}</time>.
      </p>
      <ol className="flex list-decimal flex-col gap-3 pl-5 text-sm text-slate-900" data-testid="next-steps">
        <li>
          <span className="font-semibold">{t.bookingPanel.fillInTheIntake}</span>{t.bookingPanel.so}{a.doctor.full_name}{t.bookingPanel.canPrepare}{" "}
          <Link href={`${link}#intake`} className={buttonClass("primary", "mt-1 flex w-full sm:inline-flex sm:w-auto")} data-testid="confirmation-intake">
            {t.bookingPanel.fillInTheIntake}
          </Link>
        </li>
        <li>
          <span className="font-semibold">{t.bookingPanel.checkIn}</span>{t.bookingPanel.onTheVisitPage}{" "}
          <time dateTime={opens.toISOString()} data-testid="confirmation-check-in">
            {formatDateTime(opens.toISOString(), timeZone)}
          </time>{" "}
          ({CHECK_IN_OPENS_MINUTES}{t.bookingPanel.minutesBeforeThenWait}
        </li>
        <li>
          <span className="font-semibold">{t.bookingPanel.addItToYour}</span>{" "}
          <button type="button" className={buttonClass("secondary", "mt-1")} onClick={calendar} data-testid="confirmation-calendar">
            {t.bookingPanel.downloadCalendarFileIcs}
          </button>
        </li>
        <li>
          <span className="font-semibold">{t.bookingPanel.plansChanged}</span>{t.bookingPanel.youCanMoveOr}
          <div className="mt-1 flex flex-wrap gap-2">
            <button type="button" className={buttonClass("secondary")} onClick={onReschedule} data-testid="confirmation-reschedule">
              {t.bookingPanel.chooseAnotherTime}
            </button>
            {confirmCancel ? (
              <>
                <button type="button" className={buttonClass("danger")} onClick={cancel} disabled={busy} data-testid="confirmation-cancel-confirm">
                  {busy ? t.bookingPanel.cancelling : t.bookingPanel.yesCancelThisVisit}
                </button>
                <button type="button" className={buttonClass("secondary")} onClick={() => setConfirmCancel(false)}>
                  {t.bookingPanel.keepIt}
                </button>
              </>
            ) : (
              <button type="button" className={buttonClass("secondary")} onClick={() => setConfirmCancel(true)} data-testid="confirmation-cancel">
                {t.bookingPanel.cancelTheVisit}
              </button>
            )}
          </div>
        </li>
      </ol>
      <ErrorMessage error={error} />
      <div>
        <button type="button" className={buttonClass("ghost")} onClick={onAnother} data-testid="book-another">
          {t.bookingPanel.bookAnotherVisit}
        </button>
      </div>
    </div>
  );
}

"use client";

import Link from "next/link";
import { useState } from "react";

import { download, paths } from "@/lib/api";
import { formatDateTime, formatTime } from "@/lib/format";
import type { Appointment, Role } from "@/lib/types";

import { buttonClass, ErrorMessage, StatusBadge, TextField } from "./ui";
import { useMessages } from "@/lib/i18n";

const ACTIVE = new Set(["booked", "checked_in", "in_progress"]);

/** Close the "More" menu a choice was made in. */
function closeMenu(from: HTMLElement): void {
  from.closest("details")?.removeAttribute("open");
}

/**
 * One visit in a list, with one primary action for its state (fill the intake, join, open and
 * admit) and the others under "More": add to calendar, reschedule, cancel.
 */
export function AppointmentRow({
  appointment,
  viewer,
  timeZone,
  onCancel,
  onReschedule,
}: {
  appointment: Appointment;
  viewer: Role;
  timeZone: string;
  onCancel?: (appointment: Appointment, reason: string) => Promise<void>;
  onReschedule?: (appointment: Appointment) => void;
}) {
  const t = useMessages();
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const a = appointment;
  const other = viewer === "doctor" ? a.patient.full_name : `${a.doctor.full_name} · ${a.doctor.specialty}`;
  const canChange = a.status === "booked" || a.status === "checked_in";
  const link = `/consultation/${a.id}`;

  async function cancel() {
    if (!onCancel) return;
    setBusy(true);
    setError(null);
    try {
      await onCancel(a, reason);
      setConfirming(false);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function calendar() {
    setError(null);
    try {
      await download(paths.appointmentCalendar(a.id), `careconnect-${a.id}.ics`);
    } catch (e) {
      setError(e);
    }
  }

  // One primary action per state; the others are secondary, behind "More".
  const primary: { label: string; href: string; testId: string } =
    viewer === "doctor"
      ? a.status === "checked_in"
        ? { label: t.appointmentRow.openAndAdmit, href: link, testId: "appointment-open" }
        : { label: ACTIVE.has(a.status) ? t.appointmentRow.openWorkspace : t.appointmentRow.viewVisit, href: link, testId: "appointment-open" }
      : a.status === "in_progress" || a.status === "checked_in"
        ? { label: t.appointmentRow.joinTheVisit, href: link, testId: "appointment-open" }
        : a.status === "booked" && !a.intake_submitted
          ? { label: t.appointmentRow.fillInTheIntake, href: `${link}#intake`, testId: "appointment-open" }
          : a.status === "booked"
            ? { label: t.appointmentRow.openAndCheckIn, href: link, testId: "appointment-open" }
            : { label: t.appointmentRow.viewVisit, href: link, testId: "appointment-open" };
  const urgent = a.status === "checked_in" || a.status === "in_progress" || (viewer === "patient" && a.status === "booked");
  const hasMore = ACTIVE.has(a.status); // at least "Add to calendar"

  return (
    <li
      data-testid="appointment-row"
      data-appointment-id={a.id}
      data-status={a.status}
      className="flex flex-col gap-2 rounded-lg border border-slate-200 bg-white p-3 shadow-sm sm:flex-row sm:flex-wrap sm:items-start sm:justify-between"
    >
      <div className="flex min-w-0 flex-col gap-1">
        <div className="flex flex-wrap items-center gap-2">
          <span className="font-semibold text-slate-900">
            <time dateTime={a.starts_at}>{formatDateTime(a.starts_at, timeZone)}</time>–{formatTime(a.ends_at, timeZone)}
          </span>
          <StatusBadge status={a.status} />
        </div>
        <p className="text-sm text-slate-800">{other}</p>
        {a.reason ? <p className="break-words text-sm text-slate-700">{t.appointmentRow.reason}{a.reason}</p> : null}
        {ACTIVE.has(a.status) ? (
          <p className="text-xs text-slate-700" data-testid="intake-state">
            {a.intake_submitted ? t.appointmentRow.intakeFormSubmitted : t.appointmentRow.intakeFormNotYet}
          </p>
        ) : null}
        {a.cancelled_reason ? <p className="text-xs text-slate-700">{t.appointmentRow.cancelled}{a.cancelled_reason}</p> : null}
      </div>
      <div className="flex flex-wrap items-start gap-2 sm:justify-end">
        <Link href={primary.href} className={buttonClass(urgent ? "primary" : "secondary")} data-testid={primary.testId}>
          {primary.label}
        </Link>
        {hasMore ? (
          <details className="relative" data-testid="appointment-more">
            <summary className={buttonClass("secondary", "cursor-pointer list-none [&::-webkit-details-marker]:hidden")}>
              {t.appointmentRow.more}<span className="sr-only">{t.appointmentRow.actionsForThisVisit}</span>
              <span aria-hidden="true">▾</span>
            </summary>
            <div className="absolute right-0 z-10 mt-1 flex w-56 flex-col gap-1 rounded-md border border-slate-300 bg-white p-1 shadow-lg">
              <button type="button" className={buttonClass("ghost", "justify-start")} onClick={(e) => {
                  closeMenu(e.currentTarget);
                  void calendar();
                }}
                data-testid="appointment-calendar">
                {t.appointmentRow.addToCalendarIcs}
              </button>
              {viewer === "patient" && canChange && onReschedule ? (
                <button type="button" className={buttonClass("ghost", "justify-start")} onClick={(e) => {
                    closeMenu(e.currentTarget);
                    onReschedule(a);
                  }}
                  data-testid="appointment-reschedule">
                  {t.appointmentRow.reschedule}
                </button>
              ) : null}
              {canChange && onCancel && !confirming ? (
                <button type="button" className={buttonClass("ghost", "justify-start text-red-800")} onClick={(e) => {
                    closeMenu(e.currentTarget);
                    setConfirming(true);
                  }}
                  data-testid="appointment-cancel">
                  {t.appointmentRow.cancelVisit}
                </button>
              ) : null}
            </div>
          </details>
        ) : null}
      </div>
      {confirming ? (
        <div className="flex w-full flex-col gap-2 rounded-md border border-red-200 bg-red-50 p-3 sm:basis-full" data-testid="cancel-confirm">
          <TextField id={`cancel-reason-${a.id}`} label={t.appointmentRow.reasonForCancellingOptional} value={reason} onChange={(e) => setReason(e.target.value)} />
          <div className="flex flex-wrap gap-2">
            <button type="button" className={buttonClass("danger")} onClick={cancel} disabled={busy} data-testid="cancel-confirm-button">
              {busy ? t.appointmentRow.cancelling : t.appointmentRow.yesCancelThisVisit}
            </button>
            <button type="button" className={buttonClass("secondary")} onClick={() => setConfirming(false)}>
              {t.appointmentRow.keepIt}
            </button>
          </div>
        </div>
      ) : null}
      <div className="w-full sm:basis-full">
        <ErrorMessage error={error} />
      </div>
    </li>
  );
}

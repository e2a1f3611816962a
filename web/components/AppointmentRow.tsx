"use client";

import Link from "next/link";
import { useState } from "react";

import { download, paths } from "@/lib/api";
import { formatDateTime, formatTime } from "@/lib/format";
import type { Appointment, Role } from "@/lib/types";

import { buttonClass, ErrorMessage, StatusBadge, TextField } from "./ui";

const ACTIVE = new Set(["booked", "checked_in", "in_progress"]);

/**
 * One visit in a list. A patient can cancel, reschedule, download it for a calendar, fill the
 * intake and join; a doctor opens the consultation workspace (and can cancel before it starts).
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

  const joinLabel =
    viewer === "doctor"
      ? a.status === "checked_in"
        ? "Open and admit"
        : "Open workspace"
      : a.status === "in_progress" || a.status === "checked_in"
        ? "Join"
        : a.status === "booked"
          ? "Prepare and check in"
          : "View visit";

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
        {a.reason ? <p className="break-words text-sm text-slate-700">Reason: {a.reason}</p> : null}
        {ACTIVE.has(a.status) ? (
          <p className="text-xs text-slate-700" data-testid="intake-state">
            {a.intake_submitted ? "Intake form submitted" : "Intake form not yet filled in"}
          </p>
        ) : null}
        {a.cancelled_reason ? <p className="text-xs text-slate-700">Cancelled: {a.cancelled_reason}</p> : null}
      </div>
      <div className="flex flex-wrap gap-2 sm:max-w-xs sm:justify-end">
        <Link href={link} className={buttonClass(a.status === "checked_in" || a.status === "in_progress" ? "primary" : "secondary")} data-testid="appointment-open">
          {joinLabel}
        </Link>
        {viewer === "patient" && a.status === "booked" && !a.intake_submitted ? (
          <Link href={`${link}#intake`} className={buttonClass("secondary")} data-testid="appointment-intake">
            Fill intake
          </Link>
        ) : null}
        {ACTIVE.has(a.status) ? (
          <button type="button" className={buttonClass("secondary")} onClick={calendar} data-testid="appointment-calendar">
            Add to calendar
          </button>
        ) : null}
        {viewer === "patient" && canChange && onReschedule ? (
          <button type="button" className={buttonClass("secondary")} onClick={() => onReschedule(a)} data-testid="appointment-reschedule">
            Reschedule
          </button>
        ) : null}
        {canChange && onCancel && !confirming ? (
          <button type="button" className={buttonClass("secondary")} onClick={() => setConfirming(true)} data-testid="appointment-cancel">
            Cancel visit
          </button>
        ) : null}
      </div>
      {confirming ? (
        <div className="flex w-full flex-col gap-2 rounded-md border border-red-200 bg-red-50 p-3 sm:basis-full" data-testid="cancel-confirm">
          <TextField id={`cancel-reason-${a.id}`} label="Reason for cancelling (optional)" value={reason} onChange={(e) => setReason(e.target.value)} />
          <div className="flex flex-wrap gap-2">
            <button type="button" className={buttonClass("danger")} onClick={cancel} disabled={busy} data-testid="cancel-confirm-button">
              {busy ? "Cancelling…" : "Yes, cancel this visit"}
            </button>
            <button type="button" className={buttonClass("secondary")} onClick={() => setConfirming(false)}>
              Keep it
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

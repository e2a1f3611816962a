"use client";

import { useMemo, useState } from "react";

import { api, paths } from "@/lib/api";
import { isSameLocalDay } from "@/lib/format";
import { useRequireUser } from "@/lib/session";
import type { Appointment, Page } from "@/lib/types";
import { useApi } from "@/lib/useApi";
import { useAppointmentEvents, useHubConnection } from "@/lib/useHub";

import { AppointmentRow } from "./AppointmentRow";
import { AvailabilityForm } from "./AvailabilityForm";
import { ConnectionBadge } from "./ConnectionBadge";
import { ErrorMessage, Loading, Notice, Section } from "./ui";

export function DoctorDashboard() {
  const { user } = useRequireUser(["doctor"]);
  if (!user) return <Loading />;
  const verification = user.doctor?.verification ?? "approved";
  return (
    <>
      {verification !== "approved" ? (
        <p role="status" className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" data-testid="verification-notice">
          {verification === "pending"
            ? "Your account is awaiting review by an administrator. Until it is approved, patients cannot find or book you; you can already set your availability."
            : "Your registration was not approved: patients cannot find or book you. Contact the clinic's administrator."}
        </p>
      ) : null}
      <DoctorHome timeZone={user.timezone || "UTC"} name={user.full_name} />
    </>
  );
}

function upsert(page: Page<Appointment> | null, appointment: Appointment): Page<Appointment> | null {
  if (!page) return page;
  const exists = page.items.some((a) => a.id === appointment.id);
  const items = exists
    ? page.items.map((a) => (a.id === appointment.id ? appointment : a))
    : [...page.items, appointment].sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  return { ...page, items };
}

function DoctorHome({ timeZone, name }: { timeZone: string; name: string }) {
  const upcoming = useApi<Page<Appointment>>(paths.appointmentList("upcoming"));
  const past = useApi<Page<Appointment>>(paths.appointmentList("past"));
  const connection = useHubConnection();
  const [notice, setNotice] = useState<string | null>(null);
  const [now] = useState(() => new Date());
  const setUpcoming = upcoming.setData;

  // Live status badges: every change to one of this doctor's appointments arrives here.
  useAppointmentEvents((appointment) => {
    setUpcoming((page) => upsert(page, appointment));
  });

  const items = useMemo(() => upcoming.data?.items ?? [], [upcoming.data]);
  const waiting = items.filter((a) => a.status === "checked_in");
  const inProgress = items.filter((a) => a.status === "in_progress");
  const today = items.filter((a) => isSameLocalDay(a.starts_at, now, timeZone));
  const later = items.filter((a) => !isSameLocalDay(a.starts_at, now, timeZone) && a.starts_at > now.toISOString());

  async function cancel(appointment: Appointment, reason: string) {
    const updated = await api.post<Appointment>(paths.cancelAppointment(appointment.id), reason.trim() ? { reason: reason.trim() } : {});
    setUpcoming((page) => upsert(page, updated && updated.id ? updated : { ...appointment, status: "cancelled" }));
    setNotice(`Cancelled the visit with ${appointment.patient.full_name}.`);
  }

  const list = (rows: Appointment[], empty: string, testId: string) => (
    <>
      {rows.length === 0 ? <p className="text-sm text-slate-700">{empty}</p> : null}
      <ul className="flex flex-col gap-3" data-testid={testId}>
        {rows.map((a) => (
          <AppointmentRow key={a.id} appointment={a} viewer="doctor" timeZone={timeZone} onCancel={cancel} />
        ))}
      </ul>
    </>
  );

  return (
    <div className="flex flex-col gap-6" data-testid="doctor-dashboard">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-bold">Dr. {name.replace(/^Dr\.?\s+/i, "")}</h1>
        <ConnectionBadge state={connection.state} retryAt={connection.retryAt} />
      </div>
      {notice ? <Notice testId="notice">{notice}</Notice> : null}
      {upcoming.loading && !upcoming.data ? <Loading label="Loading your appointments…" /> : null}
      <ErrorMessage error={upcoming.error} />

      <div className="grid gap-6 lg:grid-cols-2">
        <Section id="waiting-now" title={`Waiting now (${waiting.length})`}>
          <div aria-live="polite">{list(waiting, "Nobody is in the waiting room.", "waiting-list")}</div>
        </Section>
        <Section id="in-progress" title="In progress">
          {list(inProgress, "No visit in progress.", "in-progress-list")}
        </Section>
      </div>

      <Section id="today" title="Today">
        {list(today, "No appointments today.", "today-list")}
      </Section>

      <Section id="upcoming" title="Upcoming">
        {list(later, "No later appointments.", "upcoming-list")}
      </Section>

      <Section id="availability" title="Availability">
        <AvailabilityForm fallbackTimeZone={timeZone} />
      </Section>

      <Section id="past" title="Recent visits">
        <ErrorMessage error={past.error} />
        {list(past.data?.items ?? [], "No past visits yet.", "past-list")}
      </Section>
    </div>
  );
}

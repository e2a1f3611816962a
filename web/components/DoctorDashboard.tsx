"use client";

import Link from "next/link";
import { useMemo, useState } from "react";

import { api, paths } from "@/lib/api";
import { useDisplayZone } from "@/lib/displayZone";
import { formatTime, isSameLocalDay } from "@/lib/format";
import { useRequireUser } from "@/lib/session";
import type { Appointment, Page } from "@/lib/types";
import { useApi } from "@/lib/useApi";
import { useAppointmentEvents, useHubConnection } from "@/lib/useHub";

import { AppointmentRow } from "./AppointmentRow";
import { ConnectionBadge } from "./ConnectionBadge";
import { ListState, SkeletonRows } from "./ListStates";
import { TimeZoneSwitch } from "./TimeZoneSwitch";
import { buttonClass, ErrorMessage, Loading, Notice, Section } from "./ui";
import { useMessages } from "@/lib/i18n";

export function DoctorDashboard() {
  const t = useMessages();
  const { user } = useRequireUser(["doctor"]);
  if (!user) return <Loading />;
  const verification = user.doctor?.verification ?? "approved";
  return (
    <>
      {verification !== "approved" ? (
        <p role="status" className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" data-testid="verification-notice">
          {verification === "pending"
            ? t.doctorDashboard.yourAccountIsAwaiting
            : t.doctorDashboard.yourRegistrationWasNot}
        </p>
      ) : null}
      <DoctorHome profileZone={user.timezone || "UTC"} name={user.full_name} />
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

/**
 * The day's work, each visit in one place only: waiting now (checked in), in progress, next
 * (the first booked visit still to come), the rest of today, later days, and recent visits.
 * The weekly hours are on /doctor/availability.
 */
export function splitDay(items: Appointment[], now: Date, timeZone: string) {
  const waiting = items.filter((a) => a.status === "checked_in");
  const inProgress = items.filter((a) => a.status === "in_progress");
  const booked = items.filter((a) => a.status === "booked");
  const next = booked.find((a) => a.ends_at > now.toISOString()) ?? null;
  const rest = booked.filter((a) => a !== next);
  const today = rest.filter((a) => isSameLocalDay(a.starts_at, now, timeZone));
  const later = rest.filter((a) => !isSameLocalDay(a.starts_at, now, timeZone) && a.starts_at > now.toISOString());
  return { waiting, inProgress, next, today, later };
}

function DoctorHome({ profileZone, name }: { profileZone: string; name: string }) {
  const t = useMessages();
  const display = useDisplayZone(profileZone);
  const timeZone = display.zone;
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
  const { waiting, inProgress, next, today, later } = splitDay(items, now, timeZone);
  const loading = upcoming.loading && !upcoming.data;

  async function cancel(appointment: Appointment, reason: string) {
    const updated = await api.post<Appointment>(paths.cancelAppointment(appointment.id), reason.trim() ? { reason: reason.trim() } : {});
    setUpcoming((page) => upsert(page, updated && updated.id ? updated : { ...appointment, status: "cancelled" }));
    setNotice(t.doctorDashboard.cancelledWith(appointment.patient.full_name));
  }

  const list = (rows: Appointment[], empty: string, testId: string, skeletons = 1) =>
    loading ? (
      <SkeletonRows count={skeletons} label={t.doctorDashboard.loadingYourAppointments} />
    ) : (
      <>
        <ListState loading={false} error={null} empty={rows.length === 0} emptyText={empty} testId={`${testId}-empty`} />
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
        <h1 className="text-2xl font-bold">{t.doctorDashboard.dr}{name.replace(/^Dr\.?\s+/i, "")}</h1>
        <div className="flex flex-wrap items-center gap-2">
          <ConnectionBadge state={connection.state} retryAt={connection.retryAt} />
          <Link href="/doctor/availability" className={buttonClass("secondary")} data-testid="availability-link">
            {t.doctorDashboard.setAvailability}
          </Link>
        </div>
      </div>
      <TimeZoneSwitch display={display} />
      {notice ? <Notice testId="notice">{notice}</Notice> : null}
      <ErrorMessage error={upcoming.error} />

      <div className="grid gap-6 lg:grid-cols-2">
        <Section id="waiting-now" title={t.doctorDashboard.waitingNow(waiting.length)}>
          <div aria-live="polite">{list(waiting, t.doctorDashboard.nobodyWaiting, "waiting-list")}</div>
        </Section>
        <Section id="in-progress" title={t.doctorDashboard.inProgress}>
          {list(inProgress, t.doctorDashboard.noVisitInProgress, "in-progress-list")}
        </Section>
      </div>

      <Section id="next" title={next ? t.doctorDashboard.nextAt(formatTime(next.starts_at, timeZone)) : t.doctorDashboard.next}>
        {list(next ? [next] : [], t.doctorDashboard.noMoreBooked, "next-list")}
      </Section>

      <Section id="today" title={t.doctorDashboard.laterToday}>
        {list(today, t.doctorDashboard.nothingElseToday, "today-list")}
      </Section>

      <Section id="upcoming" title={t.doctorDashboard.upcomingDays}>
        {list(later, t.doctorDashboard.noLaterVisits, "upcoming-list")}
      </Section>

      <Section id="past" title={t.doctorDashboard.recentVisits}>
        <ListState
          loading={past.loading && !past.data}
          error={past.data ? null : past.error}
          empty={Boolean(past.data && past.data.items.length === 0)}
          emptyText={t.doctorDashboard.noPastVisitsYet}
          testId="past-empty"
          skeleton={<SkeletonRows count={1} label={t.doctorDashboard.loadingRecentVisits} />}
        />
        <ul className="flex flex-col gap-3" data-testid="past-list">
          {past.data?.items.map((a) => (
            <AppointmentRow key={a.id} appointment={a} viewer="doctor" timeZone={timeZone} />
          ))}
        </ul>
      </Section>
    </div>
  );
}

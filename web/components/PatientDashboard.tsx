"use client";

import { useCallback, useState } from "react";

import { api, ApiError, paths } from "@/lib/api";
import { useDisplayZone } from "@/lib/displayZone";
import { formatDateTime } from "@/lib/format";
import { useRequireUser } from "@/lib/session";
import type { Appointment, Page, Slot } from "@/lib/types";
import { useApi } from "@/lib/useApi";
import { useAppointmentEvents } from "@/lib/useHub";

import { AppointmentRow } from "./AppointmentRow";
import { DoctorSearch } from "./DoctorSearch";
import { HistorySharing } from "./HistorySharing";
import { ListState, SkeletonRows } from "./ListStates";
import { SlotPicker } from "./SlotPicker";
import { TimeZoneSwitch } from "./TimeZoneSwitch";
import { buttonClass, ErrorMessage, Loading, Notice, Section } from "./ui";
import { useMessages } from "@/lib/i18n";

export function PatientDashboard() {
  const { user } = useRequireUser(["patient"]);
  if (!user) return <Loading />;
  return <PatientHome profileZone={user.timezone || "UTC"} name={user.full_name} />;
}

function PatientHome({ profileZone, name }: { profileZone: string; name: string }) {
  const t = useMessages();
  const display = useDisplayZone(profileZone);
  const timeZone = display.zone;
  const upcoming = useApi<Page<Appointment>>(paths.appointmentList("upcoming"));
  const past = useApi<Page<Appointment>>(paths.appointmentList("past"));

  const [notice, setNotice] = useState<string | null>(null);
  const [slotsVersion, setSlotsVersion] = useState(0);
  const [rescheduling, setRescheduling] = useState<Appointment | null>(null);
  const [rescheduleSlot, setRescheduleSlot] = useState<Slot | null>(null);
  const [rescheduleError, setRescheduleError] = useState<unknown>(null);
  const [takenTimes, setTakenTimes] = useState<ReadonlySet<string>>(() => new Set());

  const { reload: reloadUpcoming, setData: setUpcoming, data: upcomingData } = upcoming;
  const reloadPast = past.reload;
  const reloadLists = useCallback(() => {
    reloadUpcoming();
    reloadPast();
  }, [reloadUpcoming, reloadPast]);

  // Live status changes (checked in, admitted, completed, cancelled by the doctor).
  useAppointmentEvents((appointment) => {
    const known = upcomingData?.items.some((a) => a.id === appointment.id) ?? false;
    setUpcoming((page) =>
      page ? { ...page, items: page.items.map((a) => (a.id === appointment.id ? appointment : a)) } : page,
    );
    if (!known || !["booked", "checked_in", "in_progress"].includes(appointment.status)) reloadLists();
  });

  async function cancel(appointment: Appointment, why = "") {
    await api.post<Appointment>(paths.cancelAppointment(appointment.id), why.trim() ? { reason: why.trim() } : {});
    setNotice(t.patientDashboard.cancelledWith(appointment.doctor.full_name));
    reloadLists();
    setSlotsVersion((v) => v + 1);
  }

  function startReschedule(appointment: Appointment) {
    setRescheduling(appointment);
    setRescheduleSlot(null);
    setRescheduleError(null);
    setTimeout(() => document.getElementById("reschedule-panel")?.scrollIntoView({ block: "start" }), 0);
  }

  async function reschedule() {
    if (!rescheduling || !rescheduleSlot) return;
    setRescheduleError(null);
    try {
      const moved = await api.post<Appointment>(paths.rescheduleAppointment(rescheduling.id), { starts_at: rescheduleSlot.starts_at });
      setNotice(t.patientDashboard.movedTo(moved.doctor.full_name, formatDateTime(moved.starts_at, timeZone)));
      setRescheduling(null);
      setRescheduleSlot(null);
      reloadLists();
      setSlotsVersion((v) => v + 1);
    } catch (e) {
      setRescheduleError(e);
      if (e instanceof ApiError && e.code === "slot_taken") {
        // Gone: out of the list at once (the message says so), the list reloads.
        const gone = rescheduleSlot.starts_at;
        setTakenTimes((prev) => new Set(prev).add(gone));
        setRescheduleSlot(null);
      }
      setSlotsVersion((v) => v + 1);
    }
  }

  const upcomingLoading = upcoming.loading && !upcoming.data;
  const pastLoading = past.loading && !past.data;

  return (
    <div className="flex flex-col gap-6" data-testid="patient-dashboard">
      <div className="flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between">
        <h1 className="text-2xl font-bold">{t.patientDashboard.hello}{name}</h1>
        <TimeZoneSwitch display={display} />
      </div>
      {notice ? <Notice testId="dashboard-notice">{notice}</Notice> : null}

      <Section id="upcoming" title={t.patientDashboard.upcomingVisits}>
        <ListState
          loading={upcomingLoading}
          error={upcoming.data ? null : upcoming.error}
          empty={Boolean(upcoming.data && upcoming.data.items.length === 0)}
          emptyText={t.patientDashboard.noUpcomingVisitsFind}
          skeleton={<SkeletonRows count={1} label={t.patientDashboard.loadingYourVisits} />}
          testId="upcoming-empty"
        />
        {upcoming.data ? <ErrorMessage error={upcoming.error} /> : null}
        <ul className="flex flex-col gap-3">
          {upcoming.data?.items.map((a) => (
            <AppointmentRow key={a.id} appointment={a} viewer="patient" timeZone={timeZone} onCancel={cancel} onReschedule={startReschedule} />
          ))}
        </ul>
        {rescheduling ? (
          <div id="reschedule-panel" className="mt-4 flex scroll-mt-4 flex-col gap-3 rounded-lg border border-blue-200 bg-blue-50 p-3" data-testid="reschedule-panel">
            <h3 className="font-semibold">
              {t.patientDashboard.moveYourVisitWith}{rescheduling.doctor.full_name}{t.patientDashboard.now}{formatDateTime(rescheduling.starts_at, timeZone)})
            </h3>
            <SlotPicker
              doctorId={rescheduling.doctor.id}
              timeZone={timeZone}
              selected={rescheduleSlot?.starts_at ?? null}
              onPick={(picked) => {
                setRescheduleSlot(picked);
                setRescheduleError(null);
              }}
              refreshKey={slotsVersion}
              hidden={takenTimes}
              label={t.patientDashboard.chooseTheNewTime}
            />
            <ErrorMessage error={rescheduleError} />
            <div className="sticky bottom-0 flex flex-wrap gap-2 bg-blue-50 py-2">
              <button type="button" className={buttonClass("primary")} disabled={!rescheduleSlot} onClick={reschedule} data-testid="reschedule-confirm">
                {rescheduleSlot ? t.patientDashboard.moveTo(formatDateTime(rescheduleSlot.starts_at, timeZone)) : t.patientDashboard.pickANewTime}
              </button>
              <button type="button" className={buttonClass("secondary")} onClick={() => setRescheduling(null)}>
                {t.patientDashboard.keepTheCurrentTime}
              </button>
            </div>
          </div>
        ) : null}
      </Section>

      <DoctorSearch
        timeZone={timeZone}
        slotsVersion={slotsVersion}
        onBooked={() => {
          setNotice(null);
          reloadLists();
          setSlotsVersion((v) => v + 1);
        }}
        onReschedule={startReschedule}
        onCancel={(a) => cancel(a)}
      />

      <Section id="past" title={t.patientDashboard.pastVisits}>
        <ListState
          loading={pastLoading}
          error={past.data ? null : past.error}
          empty={Boolean(past.data && past.data.items.length === 0)}
          emptyText={t.patientDashboard.noPastVisitsYet}
          skeleton={<SkeletonRows count={1} label={t.patientDashboard.loadingPastVisits} />}
          testId="past-empty"
        />
        <ul className="flex flex-col gap-3">
          {past.data?.items.map((a) => (
            <AppointmentRow key={a.id} appointment={a} viewer="patient" timeZone={timeZone} />
          ))}
        </ul>
      </Section>

      <HistorySharing />
    </div>
  );
}

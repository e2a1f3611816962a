"use client";

import Link from "next/link";
import { useState, useSyncExternalStore } from "react";

import { api, paths } from "@/lib/api";
import { formatDateTime } from "@/lib/format";
import { dashboardFor, useRequireUser } from "@/lib/session";
import type { Appointment, AppointmentStatus, User } from "@/lib/types";
import { useApi } from "@/lib/useApi";
import { useHubConnection, useRoom } from "@/lib/useHub";

import { AssistantsPanel } from "./AssistantsPanel";
import { VisitFiles } from "./attachments/VisitFiles";
import { ChatWindow } from "./ChatWindow";
import { NextPatientBanner } from "./DoctorWaiting";
import { IntakeForm, IntakeView } from "./IntakeForm";
import { PatientHistoryPanel } from "./PatientHistoryPanel";
import { VideoCall } from "./video/VideoCall";
import { buttonClass, ErrorMessage, Loading, Section, StatusBadge } from "./ui";
import { VersionedTextEditor } from "./VersionedTextEditor";
import { CheckInButton, NoShowButton } from "./VisitStepButtons";
import { WaitingRoom } from "./WaitingRoom";
import { useMessages } from "@/lib/i18n";

const noSubscribe = () => () => undefined;

/** The page is exported once (as /consultation/_); the real id is the last part of the URL. */
function idFromLocation(): string {
  const match = /^\/consultation\/([^/]+)\/?$/.exec(window.location.pathname);
  return match?.[1] ? decodeURIComponent(match[1]) : "";
}

export function useConsultationId(): string | null {
  return useSyncExternalStore(noSubscribe, idFromLocation, () => null);
}

const RANK: Record<string, number> = { booked: 0, checked_in: 1, in_progress: 2, completed: 3, cancelled: 3, no_show: 3 };

/** The more advanced of two views of the status (the REST answer and the live room state). */
function latestStatus(fromApi: AppointmentStatus, live: string | null): AppointmentStatus {
  if (!live || !(live in RANK)) return fromApi;
  return (RANK[live] ?? 0) >= (RANK[fromApi] ?? 0) ? (live as AppointmentStatus) : fromApi;
}

export function ConsultationView() {
  const t = useMessages();
  const id = useConsultationId();
  const { user } = useRequireUser(["patient", "doctor"]);
  if (id === null || !user) return <Loading />;
  if (!id || id === "_") {
    return (
      <div role="alert" data-testid="consultation-missing">
        <h1 className="text-2xl font-bold">{t.consultationView.noSuchConsultation}</h1>
        <Link href={dashboardFor(user)} className="text-blue-800 underline">
          {t.consultationView.backToYourDashboard}
        </Link>
      </div>
    );
  }
  return <Consultation id={id} user={user} />;
}

function Consultation({ id, user }: { id: string; user: User }) {
  const t = useMessages();
  const appointment = useApi<Appointment>(paths.appointment(id));
  const connection = useHubConnection();
  // The room is named by the id the server gave (its one spelling), not the one typed in the URL.
  const room = useRoom(appointment.data ? `consultation:${appointment.data.id}` : null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const timeZone = user.timezone || "UTC";

  if (appointment.loading && !appointment.data) return <Loading label={t.consultationView.openingTheConsultation} />;
  if (!appointment.data) {
    return (
      <div className="flex flex-col gap-3">
        <h1 className="text-2xl font-bold">{t.consultationView.consultation}</h1>
        <ErrorMessage error={appointment.error} />
        <Link href={dashboardFor(user)} className="text-blue-800 underline">
          {t.consultationView.backToYourDashboard}
        </Link>
      </div>
    );
  }
  const a = appointment.data;
  const status = latestStatus(a.status, room.snapshot?.state ?? null);
  const isDoctor = user.role === "doctor";

  async function act(action: "check-in" | "start" | "complete" | "no-show") {
    setBusy(action);
    setActionError(null);
    try {
      const result = await api.post<Appointment | undefined>(paths.consultationStep(id, action));
      if (result && typeof result === "object" && "id" in result && "status" in result) appointment.setData(() => result);
      else appointment.reload();
    } catch (e) {
      setActionError(e);
      appointment.reload();
    } finally {
      setBusy(null);
    }
  }

  const header = (
    <header className="flex flex-col gap-2">
      <div className="flex flex-wrap items-center gap-2">
        <h1 className="text-2xl font-bold" data-testid="consultation-title">
          {isDoctor ? t.consultationView.consultationWith(a.patient.full_name) : t.consultationView.yourVisitWith(a.doctor.full_name)}
        </h1>
        <StatusBadge status={status} />
      </div>
      <p className="text-sm text-slate-800">
        <time dateTime={a.starts_at}>{formatDateTime(a.starts_at, timeZone)}</time>
        {a.reason ? ` · ${a.reason}` : ""}
      </p>
      <p className="sr-only" aria-live="polite" data-testid="consultation-status" data-status={status}>
        {t.consultationView.status}{t.status[status] ?? status}
      </p>
    </header>
  );

  const chatWritable = status === "checked_in" || status === "in_progress";

  if (isDoctor) {
    return (
      <div className="flex flex-col gap-4" data-testid="doctor-workspace">
        {header}
        <NextPatientBanner currentId={a.id} timeZone={timeZone} />
        <div className="flex flex-wrap gap-2" data-testid="consultation-actions">
          <button type="button" className={buttonClass("primary")} disabled={status !== "checked_in" || busy !== null} onClick={() => act("start")} data-testid="admit">
            {busy === "start" ? t.consultationView.admitting : t.consultationView.admitPatient}
          </button>
          <button type="button" className={buttonClass("primary")} disabled={status !== "in_progress" || busy !== null} onClick={() => act("complete")} data-testid="complete">
            {busy === "complete" ? t.consultationView.completing : t.consultationView.completeVisit}
          </button>
          <NoShowButton startsAt={a.starts_at} timeZone={timeZone} busy={busy === "no-show"} disabled={!(status === "booked" || status === "checked_in") || busy !== null} onNoShow={() => act("no-show")} />
        </div>
        <ErrorMessage error={actionError} testId="action-error" />
        <div className="grid gap-4 lg:grid-cols-[minmax(0,1fr)_minmax(0,26rem)]">
          <VideoCall consultationId={id} room={room} roomName={`consultation:${a.id}`} myId={user.id} isDoctor live={status === "in_progress"}>
          <ChatWindow
            room={room}
            connection={connection}
            myId={user.id}
            timeZone={timeZone}
            writable={chatWritable}
            closedReason={status === "booked" ? t.consultationView.chatOpensAtCheckIn : t.consultationView.visitEndedReadOnly}
          />
          </VideoCall>
          <div className="flex flex-col gap-4">
            <Section id="files-panel" title={t.consultationView.files}>
              <VisitFiles consultationId={id} refresh={room.snapshot?.lastSeq} />
            </Section>
            <Section id="intake-panel" title={t.consultationView.intake}>
              <IntakeView appointmentId={id} submitted={a.intake_submitted} />
            </Section>
            <Section id="notes-panel" title={t.consultationView.privateNotes}>
              <VersionedTextEditor
                path={paths.consultationNotes(id)}
                id="notes"
                label={t.consultationView.clinicalNotesOnlyYou}
                hint={t.consultationView.savedAutomaticallyAsYou}
                testId="notes"
                timeZone={timeZone}
              />
            </Section>
            <Section id="summary-panel" title={t.consultationView.visitSummary}>
              <VersionedTextEditor
                path={paths.consultationSummary(id)}
                id="summary"
                label={t.consultationView.summaryForThePatient}
                hint={t.consultationView.thePatientReadsThis}
                testId="summary"
                timeZone={timeZone}
              />
            </Section>
            <Section id="assistants-panel" title={t.consultationView.assistants}>
              <AssistantsPanel consultationId={id} timeZone={timeZone} />
            </Section>
            <Section id="history-panel" title={t.consultationView.patientHistory}>
              <PatientHistoryPanel patientId={a.patient.id} currentId={id} timeZone={timeZone} />
            </Section>
          </div>
        </div>
      </div>
    );
  }

  // The patient.
  return (
    <div className="flex flex-col gap-4" data-testid="patient-consultation">
      {header}
      <ErrorMessage error={actionError} testId="action-error" />
      {status === "booked" ? (
        <>
          <Section id="check-in-section" title={t.consultationView.checkIn}>
            <p className="mb-3 text-sm text-slate-800">
              {t.consultationView.youCanCheckIn}{a.doctor.full_name}{t.consultationView.letsYouIn}
            </p>
            <CheckInButton startsAt={a.starts_at} timeZone={timeZone} busy={busy === "check-in"} disabled={busy !== null} onCheckIn={() => act("check-in")} />
          </Section>
          <Section id="intake-section" title={t.consultationView.beforeYourVisitIntake}>
            <IntakeForm
              appointmentId={id}
              reason={a.reason}
              submitted={a.intake_submitted}
              onSaved={() => appointment.setData((cur) => (cur ? { ...cur, intake_submitted: true } : cur))}
            />
          </Section>
        </>
      ) : null}
      {status === "checked_in" ? <WaitingRoom appointment={a} room={room.snapshot} connection={connection} timeZone={timeZone} /> : null}
      {/* One chat from the waiting room into the visit: admission does not remount it, so what the
          patient is typing, and the focus, stay where they were. */}
      {status === "checked_in" || status === "in_progress" ? (
        <VideoCall consultationId={id} room={room} roomName={`consultation:${a.id}`} myId={user.id} isDoctor={false} live={status === "in_progress"}>
          <ChatWindow room={room} connection={connection} myId={user.id} timeZone={timeZone} writable />
        </VideoCall>
      ) : null}
      {status === "checked_in" ? (
        <Section id="intake-section" title={t.consultationView.yourIntakeForm}>
          <IntakeForm appointmentId={id} reason={a.reason} submitted={a.intake_submitted} />
        </Section>
      ) : null}
      {status === "completed" ? (
        <>
          <Section id="summary-section" title={t.consultationView.visitSummary}>
            <VersionedTextEditor path={paths.consultationSummary(id)} id="summary" label={t.consultationView.summary} testId="summary" timeZone={timeZone} readOnly />
          </Section>
          <ChatWindow room={room} connection={connection} myId={user.id} timeZone={timeZone} writable={false} closedReason={t.consultationView.visitEndedReadOnly} />
        </>
      ) : null}
      {status === "cancelled" || status === "no_show" ? (
        <p className="rounded-md border border-slate-300 bg-white p-3" data-testid="visit-closed">
          {status === "cancelled" ? t.consultationView.thisVisitWasCancelled : t.consultationView.thisVisitWasMarked}{" "}
          <Link href="/patient/dashboard" className="text-blue-800 underline">
            {t.consultationView.bookAnotherTime}
          </Link>
        </p>
      ) : null}
    </div>
  );
}

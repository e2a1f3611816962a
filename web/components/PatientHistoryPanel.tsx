"use client";

import { paths } from "@/lib/api";
import { formatDateTime } from "@/lib/format";
import type { PatientHistory, VersionedText } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { IntakeDetails } from "./IntakeForm";
import { ErrorMessage, Loading, StatusBadge } from "./ui";
import { useMessages } from "@/lib/i18n";

function textOf(value: VersionedText | string | null | undefined): string {
  if (!value) return "";
  return typeof value === "string" ? value : value.text ?? "";
}

/** The patient's visits with this doctor: dates, reasons, intakes, summaries and own notes. */
export function PatientHistoryPanel({ patientId, currentId, timeZone }: { patientId: string; currentId: string; timeZone: string }) {
  const t = useMessages();
  const history = useApi<PatientHistory>(paths.patientHistory(patientId));
  if (history.loading && !history.data) return <Loading label={t.patientHistoryPanel.loadingThePatientsHistory} />;
  if (!history.data) return <ErrorMessage error={history.error} />;
  const entries = history.data.appointments.filter((e) => e.appointment.id !== currentId);
  return (
    <div data-testid="patient-history" className="flex flex-col gap-3">
      <p className="text-sm text-slate-800">
        {history.data.patient.full_name}
        {history.data.patient.email ? ` · ${history.data.patient.email}` : ""}
      </p>
      {entries.length === 0 ? <p className="text-sm text-slate-700">{t.patientHistoryPanel.noEarlierVisitsWith}</p> : null}
      <ol className="flex flex-col gap-3">
        {entries.map(({ appointment: a, intake, summary, notes }) => (
          <li key={a.id} className="rounded-md border border-slate-200 p-3" data-testid="history-entry">
            <details>
              <summary className="flex cursor-pointer flex-wrap items-center gap-2 text-sm font-semibold">
                <time dateTime={a.starts_at}>{formatDateTime(a.starts_at, timeZone)}</time>
                <StatusBadge status={a.status} />
                <span className="font-normal text-slate-800">{a.reason}</span>
                <span className="font-normal text-slate-800" data-testid="history-doctor">
                  {t.patientHistoryPanel.with}{a.doctor?.full_name ?? t.patientHistoryPanel.anotherDoctor}
                </span>
              </summary>
              <div className="mt-2 flex flex-col gap-2 text-sm">
                {intake ? <IntakeDetails intake={intake} /> : <p className="text-slate-700">{t.patientHistoryPanel.noIntake}</p>}
                <h4 className="font-semibold">{t.patientHistoryPanel.summary}</h4>
                <p className="whitespace-pre-wrap break-words text-slate-800">{textOf(summary) || t.patientHistoryPanel.noSummary}</p>
                {textOf(notes) ? (
                  <>
                    <h4 className="font-semibold">{t.patientHistoryPanel.yourPrivateNotes}</h4>
                    <p className="whitespace-pre-wrap break-words text-slate-800">{textOf(notes)}</p>
                  </>
                ) : null}
              </div>
            </details>
          </li>
        ))}
      </ol>
    </div>
  );
}

"use client";

import { useState, type FormEvent } from "react";

import { api, paths } from "@/lib/api";
import { clearDraft, loadDraft, saveDraft } from "@/lib/drafts";
import { check, fieldError, rules } from "@/lib/problems";
import { fromList, toList } from "@/lib/format";
import type { Intake } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { buttonClass, ErrorMessage, Loading, Notice, TextArea, TextField } from "./ui";
import { useMessages } from "@/lib/i18n";

const EMPTY: Intake = {
  chief_complaint: "",
  symptoms: [],
  symptom_duration: "",
  medications: [],
  allergies: [],
  conditions: [],
  notes: "",
  consent_to_treatment: false,
};

/** The fields that show their own error next to the input. */
const INLINE = ["chief_complaint", "symptoms", "symptom_duration", "medications", "allergies", "conditions", "notes", "consent_to_treatment"];

/**
 * The patient's questionnaire before the visit (editable while booked or checked in). The
 * reason given when booking (`reason`) is the main reason: it is not asked a second time, and
 * goes into the intake's `chief_complaint` (asked only when the booking had no reason).
 */
export function IntakeForm({
  appointmentId,
  reason = "",
  onSaved,
  submitted = true,
}: {
  appointmentId: string;
  reason?: string;
  onSaved?: (intake: Intake) => void;
  /** False when the appointment says no intake was sent yet: nothing to fetch (no 404 to log). */
  submitted?: boolean;
}) {
  const t = useMessages();
  // Decided once: after this form sends the answers, the editor stays (with its "saved" notice).
  const [fetchSaved] = useState(submitted);
  const intake = useApi<Intake | null>(fetchSaved ? paths.intake(appointmentId) : null, { fallbackOn404: null });
  if (intake.loading && intake.data === null && !intake.error) return <Loading label={t.intakeForm.loadingYourIntakeForm} />;
  if (intake.error) return <ErrorMessage error={intake.error} />;
  return <IntakeEditor appointmentId={appointmentId} reason={reason.trim()} initial={intake.data ?? EMPTY} existed={intake.data !== null} onSaved={onSaved} />;
}

interface Draft {
  chief_complaint: string;
  symptoms: string;
  symptom_duration: string;
  medications: string;
  allergies: string;
  conditions: string;
  notes: string;
  consent_to_treatment: boolean;
}

function toDraft(i: Intake): Draft {
  return {
    chief_complaint: i.chief_complaint ?? "",
    symptoms: fromList(i.symptoms),
    symptom_duration: i.symptom_duration ?? "",
    medications: fromList(i.medications),
    allergies: fromList(i.allergies),
    conditions: fromList(i.conditions),
    notes: i.notes ?? "",
    consent_to_treatment: Boolean(i.consent_to_treatment),
  };
}

function IntakeEditor({
  appointmentId,
  reason,
  initial,
  existed,
  onSaved,
}: {
  appointmentId: string;
  reason: string;
  initial: Intake;
  existed: boolean;
  onSaved?: (intake: Intake) => void;
}) {
  const t = useMessages();
  const draftKey = `intake:${appointmentId}`;
  // What was typed before a session ended comes back (lib/drafts.ts); it is kept until saved.
  const [restored] = useState(() => loadDraft<Draft>(draftKey) !== null);
  const [draft, setDraft] = useState<Draft>(() => loadDraft<Draft>(draftKey) ?? toDraft(initial));
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<Draft>) => {
    setSaved(false);
    setDraft((d) => {
      const next = { ...d, ...patch };
      saveDraft(draftKey, next);
      return next;
    });
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    const complaint = reason ? draft.chief_complaint.trim() || reason : draft.chief_complaint.trim();
    const invalid = check([
      ...(reason ? [] : [rules.required("chief_complaint", complaint, t.problems.theMainReasonForThisVisit)]),
      rules.max("chief_complaint", complaint, 500, t.problems.theMainReason),
      rules.max("symptom_duration", draft.symptom_duration.trim(), 100, t.problems.howLong),
      rules.max("notes", draft.notes.trim(), 4000, t.problems.theNotes),
      ["consent_to_treatment", !draft.consent_to_treatment, t.problems.consent],
    ]);
    setError(invalid);
    setSaved(false);
    if (invalid) return;
    setBusy(true);
    const body: Intake = {
      chief_complaint: complaint,
      symptoms: toList(draft.symptoms),
      symptom_duration: draft.symptom_duration.trim() || null,
      medications: toList(draft.medications),
      allergies: toList(draft.allergies),
      conditions: toList(draft.conditions),
      notes: draft.notes.trim() || null,
      consent_to_treatment: draft.consent_to_treatment,
    };
    try {
      const result = await api.put<Intake>(paths.intake(appointmentId), body);
      clearDraft(draftKey);
      setSaved(true);
      onSaved?.(result ?? body);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const listHint = t.intakeForm.listHint;
  return (
    <form id="intake" onSubmit={submit} className="flex flex-col gap-4" data-testid="intake-form" noValidate>
      {reason ? (
        <div className="rounded-md border border-slate-200 bg-slate-50 p-3 text-sm" data-testid="intake-reason">
          <p className="font-medium text-slate-900">{t.intakeForm.reasonForTheVisit}</p>
          <p className="break-words text-slate-800">{draft.chief_complaint.trim() || reason}</p>
          {fieldError(error, "chief_complaint") ? <p className="mt-1 text-red-800">{fieldError(error, "chief_complaint")}</p> : null}
        </div>
      ) : (
        <TextField
          id="intake-complaint"
          label={t.intakeForm.whatIsTheMain}
          required
          value={draft.chief_complaint}
          onChange={(e) => set({ chief_complaint: e.target.value })}
          error={fieldError(error, "chief_complaint")}
        />
      )}
      <TextArea id="intake-symptoms" label={t.intakeForm.symptoms} rows={3} hint={listHint} value={draft.symptoms} onChange={(e) => set({ symptoms: e.target.value })} error={fieldError(error, "symptoms")} />
      <TextField id="intake-duration" label={t.intakeForm.forHowLong} hint={t.intakeForm.forExample3Days} value={draft.symptom_duration} onChange={(e) => set({ symptom_duration: e.target.value })} error={fieldError(error, "symptom_duration")} />
      <TextArea id="intake-medications" label={t.intakeForm.medicationsYouTake} rows={2} hint={listHint} value={draft.medications} onChange={(e) => set({ medications: e.target.value })} error={fieldError(error, "medications")} />
      <TextArea id="intake-allergies" label={t.intakeForm.allergies} rows={2} hint={listHint} value={draft.allergies} onChange={(e) => set({ allergies: e.target.value })} error={fieldError(error, "allergies")} />
      <TextArea id="intake-conditions" label={t.intakeForm.knownConditions} rows={2} hint={listHint} value={draft.conditions} onChange={(e) => set({ conditions: e.target.value })} error={fieldError(error, "conditions")} />
      <TextArea id="intake-notes" label={t.intakeForm.anythingElseTheDoctor} rows={3} value={draft.notes} onChange={(e) => set({ notes: e.target.value })} error={fieldError(error, "notes")} />
      <div className="flex flex-col gap-1">
        <label className="flex items-start gap-3 text-sm">
          <input
            type="checkbox"
            className="mt-0.5 h-5 w-5"
            checked={draft.consent_to_treatment}
            onChange={(e) => set({ consent_to_treatment: e.target.checked })}
            aria-invalid={fieldError(error, "consent_to_treatment") ? true : undefined}
            aria-describedby={fieldError(error, "consent_to_treatment") ? "intake-consent-error" : undefined}
            data-testid="intake-consent"
          />
          <span>{t.intakeForm.iConsentToBe}</span>
        </label>
        {fieldError(error, "consent_to_treatment") ? (
          <p id="intake-consent-error" className="text-sm text-red-800">
            {fieldError(error, "consent_to_treatment")}
          </p>
        ) : null}
      </div>
      <ErrorMessage error={error} inline={INLINE} />
      {restored && !saved ? (
        <p className="text-sm text-slate-800" data-testid="intake-draft-restored">
          {t.intakeForm.weKeptWhatYou}
        </p>
      ) : null}
      {saved ? <Notice testId="intake-saved">{t.intakeForm.yourAnswersAreSaved}</Notice> : null}
      <div>
        <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="intake-submit">
          {busy ? t.intakeForm.saving : existed ? t.intakeForm.updateAnswers : t.intakeForm.sendAnswers}
        </button>
      </div>
    </form>
  );
}

/** The intake as the doctor reads it. */
export function IntakeView({ appointmentId, submitted = true }: { appointmentId: string; submitted?: boolean }) {
  const t = useMessages();
  const intake = useApi<Intake | null>(submitted ? paths.intake(appointmentId) : null, { fallbackOn404: null });
  if (intake.loading && intake.data === null && !intake.error) return <Loading label={t.intakeForm.loadingTheIntake} />;
  if (intake.error) return <ErrorMessage error={intake.error} />;
  if (!intake.data) return <p className="text-sm text-slate-700" data-testid="intake-view">{t.intakeForm.thePatientHasNot}</p>;
  return <IntakeDetails intake={intake.data} />;
}

export function IntakeDetails({ intake }: { intake: Intake }) {
  const t = useMessages();
  const rows: [string, string][] = [
    [t.intakeForm.rows.mainReason, intake.chief_complaint],
    [t.intakeForm.rows.symptoms, intake.symptoms.join(", ")],
    [t.intakeForm.rows.duration, intake.symptom_duration ?? ""],
    [t.intakeForm.rows.medications, intake.medications.join(", ")],
    [t.intakeForm.rows.allergies, intake.allergies.join(", ")],
    [t.intakeForm.rows.conditions, intake.conditions.join(", ")],
    [t.intakeForm.rows.otherNotes, intake.notes ?? ""],
    [t.intakeForm.rows.consent, intake.consent_to_treatment ? t.intakeForm.yes : t.intakeForm.no],
  ];
  return (
    <div className="flex flex-col gap-3">
      {intake.allergies.length > 0 ? (
        <p className="rounded-md border-2 border-red-700 bg-red-50 p-2 text-sm font-semibold text-red-900" data-testid="intake-allergies-alert">
          <span aria-hidden="true">⚠ </span>{t.intakeForm.allergies2}{intake.allergies.join(", ")}
        </p>
      ) : null}
      <dl className="grid grid-cols-1 gap-x-4 gap-y-1 text-sm sm:grid-cols-[10rem_1fr]" data-testid="intake-view">
        {rows.map(([term, value]) => (
          <div key={term} className="contents">
            <dt className="font-semibold text-slate-900">{term}</dt>
            <dd
              className={`mb-2 whitespace-pre-wrap break-words sm:mb-0 ${
                term === t.intakeForm.rows.allergies && value ? "font-semibold text-red-900" : "text-slate-800"
              }`}
              data-testid={term === t.intakeForm.rows.allergies ? "intake-allergies" : undefined}
            >
              {value || "—"}
            </dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

"use client";

import { useEffect, useRef, useState } from "react";

import { api, ApiError } from "@/lib/api";
import { clearDraft, loadDraft, saveDraft } from "@/lib/drafts";
import { formatTime } from "@/lib/format";
import type { VersionedText } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { buttonClass, ErrorMessage, Loading } from "./ui";
import { useMessages } from "@/lib/i18n";

const EMPTY: VersionedText = { text: "", version: 0, updated_at: null };
const AUTOSAVE_MS = 1_200;

type SaveState = "idle" | "dirty" | "saving" | "saved" | "conflict" | "error";

/**
 * Text kept with optimistic concurrency (private notes, the visit summary): GET gives
 * `{text, version, updated_at}`, PUT sends `{text, version}` and a stale version answers 409.
 * Autosaves a moment after the doctor stops typing; a conflict is shown, never overwritten silently.
 */
export function VersionedTextEditor({
  path,
  id,
  label,
  hint,
  testId,
  timeZone,
  readOnly = false,
}: {
  path: string;
  id: string;
  label: string;
  hint?: string;
  testId: string;
  timeZone: string;
  readOnly?: boolean;
}) {
  const resource = useApi<VersionedText>(path, { fallbackOn404: EMPTY });
  if (resource.loading && !resource.data) return <Loading />;
  if (!resource.data) return <ErrorMessage error={resource.error} />;
  return (
    <Editor
      path={path}
      id={id}
      label={label}
      hint={hint}
      testId={testId}
      timeZone={timeZone}
      readOnly={readOnly}
      initial={resource.data}
    />
  );
}

function Editor({
  path,
  id,
  label,
  hint,
  testId,
  timeZone,
  readOnly,
  initial,
}: {
  path: string;
  id: string;
  label: string;
  hint?: string;
  testId: string;
  timeZone: string;
  readOnly: boolean;
  initial: VersionedText;
}) {
  const t = useMessages();
  // Unsaved text from before a session ended (lib/drafts.ts) comes back and is saved against
  // the version it was written on, so a change made elsewhere meanwhile shows as a conflict.
  const draftKey = readOnly ? null : `text:${path}`;
  const [draft] = useState(() => (draftKey ? loadDraft<{ text: string; version: number }>(draftKey) : null));
  const restore = draft !== null && draft.text !== (initial.text ?? "");
  const [text, setText] = useState(restore && draft ? draft.text : (initial.text ?? ""));
  const [base, setBase] = useState<VersionedText>(restore && draft ? { ...initial, version: draft.version } : initial);
  const [state, setState] = useState<SaveState>(restore ? "dirty" : "idle");
  const [error, setError] = useState<unknown>(null);
  const [theirs, setTheirs] = useState<VersionedText | null>(null);
  const saving = useRef(false);
  const latest = useRef({ text, base });
  useEffect(() => {
    latest.current = { text, base };
  });

  async function save(force?: VersionedText) {
    if (saving.current) return;
    saving.current = true;
    const { text: current } = latest.current;
    const version = (force ?? latest.current.base).version;
    setState("saving");
    setError(null);
    try {
      const result = await api.put<VersionedText>(path, { text: current, version });
      const next = result && typeof result.version === "number" ? result : { text: current, version: version + 1, updated_at: new Date().toISOString() };
      setBase(next);
      setTheirs(null);
      if (draftKey && latest.current.text === current) clearDraft(draftKey);
      // More typing while the request was out: it is saved by the next autosave.
      setState(latest.current.text === current ? "saved" : "dirty");
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        setState("conflict");
        try {
          setTheirs(await api.get<VersionedText>(path));
        } catch (inner) {
          setError(inner);
        }
      } else {
        setState("error");
        setError(e);
      }
    } finally {
      saving.current = false;
    }
  }

  // Autosave once typing pauses.
  useEffect(() => {
    if (readOnly || state !== "dirty") return;
    const timer = setTimeout(() => void save(), AUTOSAVE_MS);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text, state, readOnly]);

  if (readOnly) {
    return (
      <div data-testid={testId}>
        <p className="whitespace-pre-wrap break-words text-sm text-slate-900" data-testid={`${testId}-text`}>
          {text || t.versionedTextEditor.nothingWrittenYet}
        </p>
        {base.updated_at ? <p className="mt-1 text-xs text-slate-700">{t.versionedTextEditor.lastUpdated}{formatTime(base.updated_at, timeZone)}</p> : null}
      </div>
    );
  }

  const statusText: Record<SaveState, string> = {
    idle: base.updated_at ? t.versionedTextEditor.savedAt(formatTime(base.updated_at, timeZone)) : t.versionedTextEditor.notSavedYet,
    dirty: t.versionedTextEditor.unsavedChanges,
    saving: t.versionedTextEditor.saving,
    saved: base.updated_at ? t.versionedTextEditor.savedAt(formatTime(base.updated_at, timeZone)) : t.versionedTextEditor.saved,
    conflict: t.versionedTextEditor.changedElsewhere,
    error: t.versionedTextEditor.notSaved,
  };

  return (
    <div className="flex flex-col gap-2" data-testid={testId}>
      <label htmlFor={id} className="text-sm font-medium">
        {label}
      </label>
      {hint ? (
        <p id={`${id}-hint`} className="text-xs text-slate-700">
          {hint}
        </p>
      ) : null}
      <textarea
        id={id}
        rows={6}
        value={text}
        aria-describedby={`${id}-status${hint ? ` ${id}-hint` : ""}`}
        onChange={(e) => {
          setText(e.target.value);
          if (draftKey) saveDraft(draftKey, { text: e.target.value, version: base.version });
          if (state !== "conflict") setState("dirty");
        }}
        className="min-h-32 w-full rounded-md border border-slate-400 bg-white px-3 py-2 text-base"
        data-testid={`${testId}-input`}
      />
      <div className="flex flex-wrap items-center gap-2">
        <p id={`${id}-status`} role="status" className="text-xs text-slate-700" data-testid={`${testId}-status`} data-state={state}>
          {statusText[state]}
        </p>
        <button
          type="button"
          className={buttonClass("secondary", "min-h-9 py-1")}
          onClick={() => void save()}
          disabled={state === "saving" || state === "conflict"}
          data-testid={`${testId}-save`}
        >
          {t.versionedTextEditor.saveNow}
        </button>
      </div>
      {state === "conflict" ? (
        <div role="alert" className="flex flex-col gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950" data-testid={`${testId}-conflict`}>
          <p>
            {t.versionedTextEditor.someonePerhapsYouIn}
          </p>
          {theirs ? (
            <details>
              <summary className="cursor-pointer font-semibold">{t.versionedTextEditor.showTheSavedVersion}</summary>
              <p className="mt-1 whitespace-pre-wrap break-words">{theirs.text || t.versionedTextEditor.empty}</p>
            </details>
          ) : null}
          <div className="flex flex-wrap gap-2">
            <button type="button" className={buttonClass("primary")} disabled={!theirs} onClick={() => theirs && void save(theirs)} data-testid={`${testId}-keep-mine`}>
              {t.versionedTextEditor.keepMineReplaceThe}
            </button>
            <button
              type="button"
              className={buttonClass("secondary")}
              disabled={!theirs}
              onClick={() => {
                if (!theirs) return;
                setText(theirs.text);
                setBase(theirs);
                if (draftKey) clearDraft(draftKey);
                setTheirs(null);
                setState("idle");
              }}
              data-testid={`${testId}-take-theirs`}
            >
              {t.versionedTextEditor.useTheSavedVersion}
            </button>
          </div>
        </div>
      ) : null}
      <ErrorMessage error={error} />
    </div>
  );
}

"use client";

/** Attach photos or PDFs to the next message: from the gallery / files, or the phone's camera. */
import { useRef } from "react";

import { ACCEPTED } from "./upload";
import type { PendingFiles } from "./usePendingFiles";
import { useMessages } from "@/lib/i18n";

export function AttachmentPicker({ files, disabled }: { files: PendingFiles; disabled?: boolean }) {
  const t = useMessages();
  const picker = useRef<HTMLInputElement>(null);
  const camera = useRef<HTMLInputElement>(null);
  const chosen = (input: HTMLInputElement | null) => {
    if (input?.files && input.files.length > 0) files.add(input.files);
    if (input) input.value = ""; // the same file can be chosen again
  };
  const button = "min-h-11 rounded-md border border-slate-400 bg-white px-3 text-sm font-medium text-slate-900 hover:bg-slate-50 disabled:opacity-50";
  return (
    <div className="flex w-full flex-col gap-2" data-testid="attachment-picker">
      <div className="flex flex-wrap gap-2">
        <button type="button" className={button} disabled={disabled} onClick={() => picker.current?.click()} data-testid="attach-file">
          {t.attachmentPicker.attachPhotoOrPdf}
        </button>
        <button type="button" className={button} disabled={disabled} onClick={() => camera.current?.click()} data-testid="attach-camera">
          {t.attachmentPicker.takePhoto}
        </button>
        <input ref={picker} type="file" accept={ACCEPTED} multiple className="sr-only" tabIndex={-1} aria-label={t.attachmentPicker.choosePhotosOrPdfs} onChange={(e) => chosen(e.currentTarget)} data-testid="attach-input" />
        <input ref={camera} type="file" accept="image/*" capture="environment" className="sr-only" tabIndex={-1} aria-label={t.attachmentPicker.takeAPhoto} onChange={(e) => chosen(e.currentTarget)} data-testid="camera-input" />
      </div>
      {files.items.length > 0 ? (
        <ul className="flex flex-col gap-1" aria-label={t.attachmentPicker.filesForThisMessage} data-testid="pending-files">
          {files.items.map((item) => (
            <li key={item.key} className="flex flex-wrap items-center gap-2 rounded-md bg-slate-50 p-2 text-sm" data-testid="pending-file" data-ready={Boolean(item.meta)}>
              <span className="min-w-0 flex-1 truncate">{item.name}</span>
              {item.error ? (
                <span role="alert" className="w-full text-red-900 sm:w-auto" data-testid="upload-error">
                  {item.error}
                </span>
              ) : item.meta ? (
                <span className="text-green-800">{t.attachmentPicker.ready}</span>
              ) : (
                <progress className="h-2 w-24" max={1} value={item.progress} aria-label={t.attachmentPicker.uploadingName(item.name)} data-testid="upload-progress" />
              )}
              <button type="button" className="min-h-11 px-2 font-semibold underline" onClick={() => files.remove(item.key)} data-testid="upload-remove">
                {item.meta || item.error ? t.attachmentPicker.remove : t.attachmentPicker.cancel}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

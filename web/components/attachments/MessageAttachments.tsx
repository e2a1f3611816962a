"use client";

/** The files of a message: image thumbnails that open a viewer, PDFs as downloads. */
import { useEffect, useRef, useState } from "react";

import { download } from "@/lib/api";
import type { AttachmentMeta } from "@/lib/hub";

import { attachmentPath, useAttachmentUrl } from "./useAttachmentUrl";
import { useMessages } from "@/lib/i18n";

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

export function MessageAttachments({ files }: { files: AttachmentMeta[] }) {
  const t = useMessages();
  const [open, setOpen] = useState<AttachmentMeta | null>(null);
  return (
    <ul className="flex flex-wrap gap-2" data-testid="message-attachments">
      {files.map((file) => (
        <li key={file.id}>
          {file.content_type.startsWith("image/") ? (
            <button type="button" onClick={() => setOpen(file)} className="block rounded-md bg-white p-0.5" aria-label={t.messageAttachments.openName(file.filename)} data-testid="attachment-thumbnail">
              <Thumbnail file={file} />
            </button>
          ) : (
            <FileDownload file={file} />
          )}
        </li>
      ))}
      {open ? <ImageViewer file={open} onClose={() => setOpen(null)} /> : null}
    </ul>
  );
}

function Thumbnail({ file }: { file: AttachmentMeta }) {
  const t = useMessages();
  const { url, failed } = useAttachmentUrl(attachmentPath(file.id, true));
  if (failed) return <span className="block p-2 text-xs text-slate-800">{file.filename}</span>;
  return url ? (
    // eslint-disable-next-line @next/next/no-img-element -- an object URL of an authenticated file
    <img src={url} alt={file.filename} className="h-24 w-24 rounded object-cover" data-testid="thumbnail-image" />
  ) : (
    <span className="block h-24 w-24 animate-pulse rounded bg-slate-200" aria-label={t.messageAttachments.loadingName(file.filename)} />
  );
}

export function FileDownload({ file }: { file: AttachmentMeta }) {
  const t = useMessages();
  const [error, setError] = useState<string | null>(null);
  return (
    <span className="flex flex-col">
      <button
        type="button"
        className="min-h-11 rounded-md border border-slate-400 bg-white px-3 text-left text-sm font-medium text-slate-900 underline"
        onClick={() => download(attachmentPath(file.id), file.filename).catch(() => setError(t.messageAttachments.downloadFailed))}
        data-testid="attachment-download"
      >
        {t.messageAttachments.download}{file.filename} ({formatSize(file.size)})
      </button>
      {error ? (
        <span role="alert" className="text-xs text-red-900">
          {error}
        </span>
      ) : null}
    </span>
  );
}

function ImageViewer({ file, onClose }: { file: AttachmentMeta; onClose: () => void }) {
  const t = useMessages();
  const dialog = useRef<HTMLDialogElement>(null);
  const { url, failed } = useAttachmentUrl(attachmentPath(file.id));
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);
  return (
    <dialog ref={dialog} onClose={onClose} className="max-h-[95vh] max-w-[95vw] rounded-lg bg-white p-2 text-slate-900 backdrop:bg-black/70" aria-label={file.filename} data-testid="image-viewer">
      <div className="flex items-center justify-between gap-2 pb-2">
        <span className="truncate text-sm font-semibold">{file.filename}</span>
        <button type="button" className="min-h-11 px-3 font-semibold underline" onClick={() => dialog.current?.close()} data-testid="viewer-close">
          {t.messageAttachments.close}
        </button>
      </div>
      {failed ? <p role="alert">{t.messageAttachments.theImageCouldNot}</p> : null}
      {url ? (
        // eslint-disable-next-line @next/next/no-img-element -- an object URL of an authenticated file
        <img src={url} alt={file.filename} className="max-h-[80vh] max-w-full object-contain" data-testid="viewer-image" />
      ) : null}
    </dialog>
  );
}

"use client";

/** The visit's files for the doctor's workspace: every photo and document sent in the chat. */
import { useApi } from "@/lib/useApi";
import type { AttachmentMeta } from "@/lib/hub";

import { FileDownload, MessageAttachments } from "./MessageAttachments";
import { useMessages } from "@/lib/i18n";

export function VisitFiles({ consultationId, refresh }: { consultationId: string; refresh?: number }) {
  const t = useMessages();
  const files = useApi<AttachmentMeta[]>(`/consultations/${consultationId}/attachments`, { refresh });
  const list = files.data ?? [];
  const images = list.filter((f) => f.content_type.startsWith("image/"));
  const documents = list.filter((f) => !f.content_type.startsWith("image/"));
  return (
    <div className="flex flex-col gap-2" data-testid="visit-files">
      {files.loading && !files.data ? <p className="text-sm text-slate-700">{t.visitFiles.loadingFiles}</p> : null}
      {files.data && list.length === 0 ? <p className="text-sm text-slate-700">{t.visitFiles.noFilesSharedYet}</p> : null}
      {images.length > 0 ? <MessageAttachments files={images} /> : null}
      {documents.length > 0 ? (
        <ul className="flex flex-col gap-1">
          {documents.map((file) => (
            <li key={file.id}>
              <FileDownload file={file} />
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

"use client";

/** Files chosen for the next message: each uploads at once, with progress; cancel or remove any. */
import { useCallback, useEffect, useRef, useState } from "react";

import type { AttachmentMeta } from "@/lib/hub";
import { t } from "@/lib/i18n";

import { UploadCancelled, uploadAttachment, type UploadHandle } from "./upload";

export const MAX_FILES = 5;

export interface PendingFile {
  key: string;
  name: string;
  progress: number;
  meta?: AttachmentMeta;
  error?: string;
}

export interface PendingFiles {
  items: PendingFile[];
  /** Uploaded and ready to go with the message. */
  ready: AttachmentMeta[];
  busy: boolean;
  add: (files: FileList | File[]) => void;
  remove: (key: string) => void;
  clear: () => void;
}

export function usePendingFiles(consultationId: string | null): PendingFiles {
  const [items, setItems] = useState<PendingFile[]>([]);
  const uploads = useRef(new Map<string, UploadHandle>());
  const patch = (key: string, change: Partial<PendingFile>) =>
    setItems((list) => list.map((item) => (item.key === key ? { ...item, ...change } : item)));

  const add = useCallback(
    (files: FileList | File[]) => {
      if (!consultationId) return;
      const chosen = Array.from(files);
      setItems((list) => {
        const room = Math.max(0, MAX_FILES - list.filter((i) => !i.error).length);
        const next = [...list];
        chosen.forEach((file, index) => {
          const key = `${Date.now()}-${index}-${file.name}`;
          if (index >= room) {
            next.push({ key, name: file.name, progress: 0, error: t().uploads.tooMany(MAX_FILES) });
            return;
          }
          next.push({ key, name: file.name, progress: 0 });
          const handle = uploadAttachment(consultationId, file, (progress) => patch(key, { progress }));
          uploads.current.set(key, handle);
          handle.done
            .then((meta) => patch(key, { meta, progress: 1 }))
            .catch((error: unknown) => {
              if (error instanceof UploadCancelled) return;
              patch(key, { error: error instanceof Error ? error.message : t().uploads.failed });
            })
            .finally(() => uploads.current.delete(key));
        });
        return next;
      });
    },
    [consultationId],
  );

  const remove = useCallback((key: string) => {
    uploads.current.get(key)?.cancel();
    uploads.current.delete(key);
    setItems((list) => list.filter((item) => item.key !== key));
  }, []);

  const clear = useCallback(() => setItems([]), []);

  useEffect(() => {
    const running = uploads.current;
    return () => running.forEach((handle) => handle.cancel());
  }, []);

  const ready = items.flatMap((item) => (item.meta ? [item.meta] : []));
  const busy = items.some((item) => !item.meta && !item.error);
  return { items, ready, busy, add, remove, clear };
}

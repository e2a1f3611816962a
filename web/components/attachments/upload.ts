/**
 * Uploading a file to a consultation (API.md 1.1 "Attachments") with XMLHttpRequest, the one
 * browser API that reports upload progress; `cancel()` aborts it.
 */
import { API_BASE, getAccessToken, refreshSession } from "@/lib/api";
import type { AttachmentMeta } from "@/lib/hub";
import { t } from "@/lib/i18n";

export const ACCEPTED = "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif,application/pdf";
export const MAX_BYTES = 10 * 1024 * 1024;

export interface UploadHandle {
  done: Promise<AttachmentMeta>;
  cancel: () => void;
}

export class UploadCancelled extends Error {}

/** Words for a refused upload, from its status and problem code. */
export function explainUploadError(status: number, code: string | undefined, detail: string | undefined): string {
  const say = t().uploads;
  if (status === 413) return say.tooLarge;
  if (code === "unsupported_file") return say.unsupported;
  if (code === "room_closed") return say.roomClosed;
  if (status === 0) return say.offline;
  return detail || say.failedTryAgain;
}

export function uploadAttachment(
  consultationId: string,
  file: File,
  onProgress: (fraction: number) => void,
): UploadHandle {
  let xhr: XMLHttpRequest | null = null;
  let cancelled = false;
  const attempt = (token: string | null) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = new XMLHttpRequest();
      xhr = request;
      request.open("POST", `${API_BASE}/consultations/${consultationId}/attachments`);
      if (token) request.setRequestHeader("Authorization", `Bearer ${token}`);
      request.setRequestHeader("Accept", "application/json");
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      request.onload = () => resolve({ status: request.status, body: request.responseText });
      request.onerror = () => resolve({ status: 0, body: "" });
      request.onabort = () => reject(new UploadCancelled("cancelled"));
      const form = new FormData();
      form.append("file", file, file.name);
      request.send(form);
    });
  const done = (async () => {
    if (file.size > MAX_BYTES) throw new Error(explainUploadError(413, "too_large", undefined));
    let result = await attempt(getAccessToken());
    if (result.status === 401 && !cancelled) result = await attempt(await refreshSession());
    if (result.status === 201) return JSON.parse(result.body) as AttachmentMeta;
    let problem: { code?: string; detail?: string } = {};
    try {
      problem = JSON.parse(result.body) as { code?: string; detail?: string };
    } catch {
      problem = {};
    }
    throw new Error(explainUploadError(result.status, problem.code, problem.detail));
  })();
  return {
    done,
    cancel: () => {
      cancelled = true;
      (xhr as XMLHttpRequest | null)?.abort();
    },
  };
}

"use client";

/** An authenticated file as an object URL for <img> (a plain src cannot carry the bearer token). */
import { useEffect, useState } from "react";

import { request } from "@/lib/api";

export function attachmentPath(id: string, thumbnail = false): string {
  return `/attachments/${id}${thumbnail ? "/thumbnail" : ""}`;
}

export function useAttachmentUrl(path: string | null): { url: string | null; failed: boolean } {
  const [state, setState] = useState<{ url: string | null; failed: boolean }>({ url: null, failed: false });
  useEffect(() => {
    if (!path) return;
    let url: string | null = null;
    let live = true;
    request<Response>("GET", path, { raw: true, headers: { Accept: "image/*" } })
      .then((response) => response.blob())
      .then((blob) => {
        url = URL.createObjectURL(blob);
        if (live) setState({ url, failed: false });
        else URL.revokeObjectURL(url);
      })
      .catch(() => live && setState({ url: null, failed: true }));
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [path]);
  return state;
}


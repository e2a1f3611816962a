"use client";

/** Load one API resource in a component: data, error, loading, reload, and local edits. */
import { useCallback, useEffect, useState } from "react";

import { api, ApiError } from "./api";

interface Result<T> {
  key: string;
  data: T | null;
  error: unknown;
}

export interface Resource<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
  /** Replace the data locally (after a write answered with the new object, or a live event). */
  setData: (update: (current: T | null) => T | null) => void;
}

/**
 * GET `path` whenever it changes (null: nothing to load). A 404 becomes `fallback` when one is
 * given (e.g. an intake not written yet), otherwise an error like any other.
 */
export function useApi<T>(path: string | null, options: { fallbackOn404?: T; refresh?: number } = {}): Resource<T> {
  const [generation, setGeneration] = useState(0);
  const key = path === null ? "" : `${generation}:${options.refresh ?? 0}:${path}`;
  const [result, setResult] = useState<Result<T>>({ key: "", data: null, error: null });
  const fallback = options.fallbackOn404;
  const hasFallback = "fallbackOn404" in options;

  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    api
      .get<T>(path, { signal: controller.signal })
      .then((data) => setResult({ key, data, error: null }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        if (hasFallback && error instanceof ApiError && error.status === 404) {
          setResult({ key, data: fallback ?? null, error: null });
        } else {
          setResult((prev) => ({ key, data: prev.data, error }));
        }
      });
    return () => controller.abort();
    // `fallback` is a constant per call site; leaving it out avoids refetching on every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, path]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const setData = useCallback(
    (update: (current: T | null) => T | null) => setResult((prev) => ({ ...prev, data: update(prev.data) })),
    [],
  );
  return {
    data: result.data,
    error: result.key === key ? result.error : null,
    loading: path !== null && result.key !== key,
    reload,
    setData,
  };
}

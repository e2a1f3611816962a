"use client";

/**
 * The states of a list, the same everywhere: loading (grey rows holding the space the rows will
 * take, so nothing below jumps when they arrive), an error in plain words, and empty.
 */
import type { ReactNode } from "react";

import { useMessages } from "@/lib/i18n";

import { ErrorMessage } from "./ui";

export function SkeletonRows({ count = 2, className = "h-24", label }: { count?: number; className?: string; label?: string }) {
  const t = useMessages();
  return (
    <div role="status" aria-label={label ?? t.common.loading} data-testid="list-loading" className="flex flex-col gap-3">
      {Array.from({ length: count }, (_, i) => (
        <div key={i} aria-hidden="true" className={`animate-pulse rounded-lg border border-slate-200 bg-slate-100 ${className}`} />
      ))}
    </div>
  );
}

export function ListState({
  loading,
  error,
  empty,
  emptyText,
  skeleton,
  testId,
}: {
  loading: boolean;
  error: unknown;
  empty: boolean;
  emptyText: ReactNode;
  skeleton?: ReactNode;
  testId?: string;
}) {
  if (loading) return <>{skeleton ?? <SkeletonRows />}</>;
  if (error) return <ErrorMessage error={error} />;
  if (empty) {
    return (
      <p className="rounded-md border border-dashed border-slate-300 p-3 text-sm text-slate-700" data-testid={testId ?? "list-empty"}>
        {emptyText}
      </p>
    );
  }
  return null;
}

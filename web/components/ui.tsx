"use client";

/** Small building blocks: buttons, fields with their errors, error and status messages. */
import type { InputHTMLAttributes, ReactNode, Ref, SelectHTMLAttributes, TextareaHTMLAttributes } from "react";

import { otherFields, plainError } from "@/lib/problems";
import { useMessages } from "@/lib/i18n";

type Variant = "primary" | "secondary" | "danger" | "ghost";

const VARIANTS: Record<Variant, string> = {
  primary: "bg-blue-700 text-white hover:bg-blue-800 disabled:bg-slate-400",
  secondary: "border border-slate-400 bg-white text-slate-900 hover:bg-slate-100 disabled:text-slate-500",
  danger: "bg-red-700 text-white hover:bg-red-800 disabled:bg-slate-400",
  ghost: "text-blue-800 underline-offset-2 hover:underline disabled:text-slate-500",
};

export function buttonClass(variant: Variant = "primary", extra = ""): string {
  return `inline-flex min-h-11 items-center justify-center gap-2 rounded-md px-4 py-2 text-sm font-semibold disabled:cursor-not-allowed ${VARIANTS[variant]} ${extra}`;
}

/**
 * An error in plain words (lib/problems.ts). Field errors whose input is among `inline` are shown
 * next to that input (through `fieldError`), the others are listed here; the request id only
 * inside "Details", for when a person contacts the clinic.
 */
export function ErrorMessage({ error, testId = "error", inline = [] }: { error: unknown; testId?: string; inline?: readonly string[] }) {
  const t = useMessages();
  if (!error) return null;
  const plain = plainError(error);
  const listed = otherFields(plain, inline);
  const marked = plain.fields.length - listed.length;
  return (
    <div role="alert" data-testid={testId} className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900">
      <p>
        {plain.summary}
        {marked > 0 ? (marked === 1 ? t.ui.seeTheMarkedField : t.ui.seeTheMarkedFields) : null}
      </p>
      {listed.length > 0 ? (
        <ul className="mt-1 list-disc pl-5" data-testid={`${testId}-fields`}>
          {listed.map((f) => (
            <li key={`${f.field}:${f.message}`}>{f.message}</li>
          ))}
        </ul>
      ) : null}
      {plain.requestId ? (
        <details className="mt-2 text-xs text-red-900" data-testid={`${testId}-details`}>
          <summary className="cursor-pointer">{t.ui.details}</summary>
          <p className="mt-1">
            {t.ui.referenceForTheClinic}<code>{plain.requestId}</code>
          </p>
        </details>
      ) : null}
    </div>
  );
}

export function Notice({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <p role="status" data-testid={testId} className="rounded-md border border-green-300 bg-green-50 p-3 text-sm text-green-900">
      {children}
    </p>
  );
}

const BADGE: Record<string, string> = {
  booked: "bg-slate-100 text-slate-800 border-slate-300",
  checked_in: "bg-amber-100 text-amber-900 border-amber-300",
  in_progress: "bg-blue-100 text-blue-900 border-blue-300",
  completed: "bg-green-100 text-green-900 border-green-300",
  cancelled: "bg-slate-100 text-slate-700 border-slate-300",
  no_show: "bg-red-100 text-red-900 border-red-300",
};

export function StatusBadge({ status }: { status: string }) {
  const t = useMessages();
  return (
    <span
      data-testid="status-badge"
      data-status={status}
      className={`inline-flex items-center rounded-full border px-2 py-0.5 text-xs font-semibold ${BADGE[status] ?? BADGE.booked}`}
    >
      {t.status[status] ?? status}
    </span>
  );
}

interface FieldShellProps {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  children: ReactNode;
}

function FieldShell({ id, label, error, hint, children }: FieldShellProps) {
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium text-slate-900">
        {label}
      </label>
      {children}
      {hint && (
        <p id={`${id}-hint`} className="text-xs text-slate-600">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} data-testid={`${id}-error`} className="text-sm text-red-800">
          {error}
        </p>
      )}
    </div>
  );
}

const INPUT =
  "min-h-11 w-full rounded-md border border-slate-400 bg-white px-3 py-2 text-base text-slate-900 placeholder:text-slate-500 aria-[invalid=true]:border-red-700";

function describedBy(id: string, error?: string, hint?: string): string | undefined {
  const ids = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return ids || undefined;
}

type InputProps = InputHTMLAttributes<HTMLInputElement> & {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  ref?: Ref<HTMLInputElement>;
};

export function TextField({ id, label, error, hint, className, ...rest }: InputProps) {
  return (
    <FieldShell id={id} label={label} error={error} hint={hint}>
      <input
        id={id}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, error, hint)}
        className={`${INPUT} ${className ?? ""}`}
        {...rest}
      />
    </FieldShell>
  );
}

type AreaProps = TextareaHTMLAttributes<HTMLTextAreaElement> & { id: string; label: string; error?: string; hint?: string };

export function TextArea({ id, label, error, hint, className, ...rest }: AreaProps) {
  return (
    <FieldShell id={id} label={label} error={error} hint={hint}>
      <textarea
        id={id}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, error, hint)}
        className={`${INPUT} ${className ?? ""}`}
        {...rest}
      />
    </FieldShell>
  );
}

type SelectProps = SelectHTMLAttributes<HTMLSelectElement> & { id: string; label: string; error?: string; hint?: string };

export function SelectField({ id, label, error, hint, className, children, ...rest }: SelectProps) {
  return (
    <FieldShell id={id} label={label} error={error} hint={hint}>
      <select
        id={id}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, error, hint)}
        className={`${INPUT} ${className ?? ""}`}
        {...rest}
      >
        {children}
      </select>
    </FieldShell>
  );
}

export function Section({
  title,
  id,
  children,
  actions,
  headingRef,
}: {
  title: string;
  id: string;
  children: ReactNode;
  actions?: ReactNode;
  /** Given: the heading can take the focus (a step of a flow moves the focus there). */
  headingRef?: Ref<HTMLHeadingElement>;
}) {
  return (
    <section aria-labelledby={`${id}-title`} data-testid={id} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2
          id={`${id}-title`}
          ref={headingRef}
          tabIndex={headingRef ? -1 : undefined}
          className="text-lg font-semibold text-slate-900 focus:outline-none"
        >
          {title}
        </h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function Loading({ label }: { label?: string }) {
  const t = useMessages();
  return (
    <p role="status" className="text-sm text-slate-700">
      {label ?? t.common.loading}
    </p>
  );
}

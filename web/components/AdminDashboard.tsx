"use client";

/** The admin's home: doctors awaiting review (DOCTOR_REGISTRATION=review), approve or reject each. */
import { useEffect, useRef, useState } from "react";

import { api, paths } from "@/lib/api";
import { formatDateTime } from "@/lib/format";
import { useRequireUser } from "@/lib/session";
import type { Page, User } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { AdminUsers } from "./AdminUsers";
import { SkeletonRows } from "./ListStates";
import { buttonClass, ErrorMessage, Loading, Section } from "./ui";
import { useMessages } from "@/lib/i18n";

export function AdminDashboard() {
  const { user } = useRequireUser(["admin"]);
  if (!user) return <Loading />;
  return (
    <>
      <ReviewQueue timeZone={user.timezone || "UTC"} />
      <div className="mt-6">
        <AdminUsers selfId={user.id} />
      </div>
    </>
  );
}

type Decision = "approve" | "reject";

function ReviewQueue({ timeZone }: { timeZone: string }) {
  const t = useMessages();
  const [cursor, setCursor] = useState<string | null>(null);
  const page = useApi<Page<User>>(paths.adminDoctors({ verification: "pending", limit: 100, cursor }));
  const shown = page.data?.items ?? [];
  const setPage = page.setData;
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const noticeRef = useRef<HTMLParagraphElement>(null);

  useEffect(() => {
    // After a decision the row is gone: keep keyboard and screen-reader users on the outcome.
    if (notice) noticeRef.current?.focus();
  }, [notice]);

  async function decide(doctor: User, decision: Decision) {
    setBusy(doctor.id);
    setError(null);
    setNotice(null);
    try {
      await api.post<User>(paths.adminDoctorDecision(doctor.id, decision));
      setPage((current) => (current ? { ...current, items: current.items.filter((d) => d.id !== doctor.id) } : current));
      setNotice(`${decision === "approve" ? "Approved" : "Rejected"} ${doctor.full_name}.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="flex flex-col gap-6" data-testid="admin-dashboard">
      <h1 className="text-2xl font-bold">{t.adminDashboard.administration}</h1>
      <Section id="doctor-review" title={t.adminDashboard.awaitingReview(shown.length, Boolean(page.data?.next_cursor))}>
        {notice ? (
          <p
            ref={noticeRef}
            tabIndex={-1}
            role="status"
            data-testid="notice"
            className="mb-3 rounded-md border border-green-300 bg-green-50 p-3 text-sm text-green-900 focus:outline-none focus:ring-2 focus:ring-blue-700"
          >
            {notice}
          </p>
        ) : null}
        <ErrorMessage error={error ?? page.error} />
        {page.loading ? <SkeletonRows count={2} className="h-28" label={t.adminDashboard.loadingTheDoctorsAwaiting} /> : null}
        {!page.loading && shown.length === 0 && !page.error ? (
          <p className="text-sm text-slate-700" data-testid="review-empty">
            {t.adminDashboard.noDoctorIsWaiting}
          </p>
        ) : null}
        <ul className="flex flex-col gap-3" data-testid="review-list">
          {shown.map((doctor) => (
            <li
              key={doctor.id}
              data-testid="review-row"
              data-doctor-id={doctor.id}
              className="flex flex-col gap-3 rounded-md border border-slate-200 p-3 sm:flex-row sm:items-center sm:justify-between"
            >
              <div className="min-w-0">
                <h3 className="font-semibold text-slate-900" data-testid="review-name">
                  {doctor.full_name}
                </h3>
                <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 text-sm text-slate-800">
                  <dt className="text-slate-600">{t.adminDashboard.email}</dt>
                  <dd className="break-all">{doctor.email}</dd>
                  <dt className="text-slate-600">{t.adminDashboard.specialty}</dt>
                  <dd>{doctor.doctor?.specialty || "—"}</dd>
                  <dt className="text-slate-600">{t.adminDashboard.licenseNumber}</dt>
                  <dd data-testid="review-license">{doctor.doctor?.license_number || t.adminDashboard.notGiven}</dd>
                  <dt className="text-slate-600">{t.adminDashboard.registered}</dt>
                  <dd>
                    <time dateTime={doctor.created_at}>{formatDateTime(doctor.created_at, timeZone)}</time>
                  </dd>
                </dl>
              </div>
              <div className="flex flex-wrap gap-2">
                <button
                  type="button"
                  className={buttonClass("primary", "grow sm:grow-0")}
                  disabled={busy !== null}
                  onClick={() => decide(doctor, "approve")}
                  aria-label={t.adminDashboard.approveName(doctor.full_name)}
                  data-testid="review-approve"
                >
                  {t.adminDashboard.approve}
                </button>
                <button
                  type="button"
                  className={buttonClass("danger", "grow sm:grow-0")}
                  disabled={busy !== null}
                  onClick={() => decide(doctor, "reject")}
                  aria-label={t.adminDashboard.rejectName(doctor.full_name)}
                  data-testid="review-reject"
                >
                  {t.adminDashboard.reject}
                </button>
              </div>
            </li>
          ))}
        </ul>
        {page.data?.next_cursor ? (
          <button
            type="button"
            className={buttonClass("secondary", "mt-3")}
            disabled={page.loading}
            onClick={() => setCursor(page.data?.next_cursor ?? null)}
            data-testid="review-more"
          >
            {t.adminDashboard.showTheNextDoctors}
          </button>
        ) : null}
      </Section>
    </div>
  );
}

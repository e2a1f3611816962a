"use client";

import Link from "next/link";

import { useRequireUser } from "@/lib/session";

import { AvailabilityForm } from "./AvailabilityForm";
import { Loading, Section } from "./ui";
import { useMessages } from "@/lib/i18n";

/** The doctor's weekly hours, slot length and exceptions, on a page of their own. */
export function DoctorAvailability() {
  const t = useMessages();
  const { user } = useRequireUser(["doctor"]);
  if (!user) return <Loading />;
  return (
    <div className="flex flex-col gap-4" data-testid="doctor-availability">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-bold">{t.doctorAvailability.yourAvailability}</h1>
        <Link href="/doctor/dashboard" className="text-sm font-semibold text-blue-800 underline">
          {t.doctorAvailability.backToTodaysWork}
        </Link>
      </div>
      <p className="text-sm text-slate-700">{t.doctorAvailability.patientsBookTheFree}</p>
      <Section id="availability" title={t.doctorAvailability.weeklyHoursAndExceptions}>
        <AvailabilityForm fallbackTimeZone={user.timezone || "UTC"} />
      </Section>
    </div>
  );
}

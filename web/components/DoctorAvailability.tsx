"use client";

import Link from "next/link";

import { useRequireUser } from "@/lib/session";

import { AvailabilityForm } from "./AvailabilityForm";
import { Loading, Section } from "./ui";

/** The doctor's weekly hours, slot length and exceptions, on a page of their own. */
export function DoctorAvailability() {
  const { user } = useRequireUser(["doctor"]);
  if (!user) return <Loading />;
  return (
    <div className="flex flex-col gap-4" data-testid="doctor-availability">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-bold">Your availability</h1>
        <Link href="/doctor/dashboard" className="text-sm font-semibold text-blue-800 underline">
          Back to today’s work
        </Link>
      </div>
      <p className="text-sm text-slate-700">Patients book the free times these hours make. Changing them never cancels a booked visit.</p>
      <Section id="availability" title="Weekly hours and exceptions">
        <AvailabilityForm fallbackTimeZone={user.timezone || "UTC"} />
      </Section>
    </div>
  );
}

"use client";

import { formatDateTime } from "@/lib/format";
import type { DoctorCardData } from "@/lib/types";

import { buttonClass } from "./ui";

/** One doctor in the search results; "See times" opens the slot picker for them. */
export function DoctorCard({
  doctor,
  timeZone,
  selected,
  onChoose,
}: {
  doctor: DoctorCardData;
  timeZone: string;
  selected: boolean;
  onChoose: (doctor: DoctorCardData) => void;
}) {
  const headingId = `doctor-${doctor.id}-name`;
  return (
    <article
      aria-labelledby={headingId}
      data-testid="doctor-card"
      data-doctor-id={doctor.id}
      className={`flex flex-col gap-2 rounded-lg border bg-white p-4 shadow-sm ${selected ? "border-blue-700 ring-2 ring-blue-700" : "border-slate-200"}`}
    >
      <h3 id={headingId} className="text-base font-semibold text-slate-900">
        {doctor.full_name}
      </h3>
      <p className="text-sm font-medium text-blue-900">{doctor.specialty}</p>
      {doctor.languages?.length ? <p className="text-sm text-slate-700">Speaks {doctor.languages.join(", ")}</p> : null}
      {doctor.bio ? <p className="line-clamp-3 text-sm text-slate-700">{doctor.bio}</p> : null}
      <p className="text-sm text-slate-700">
        {doctor.next_available_at ? (
          <>Next available: {formatDateTime(doctor.next_available_at, timeZone)}</>
        ) : (
          <>No free times in the coming weeks.</>
        )}
      </p>
      <button
        type="button"
        className={buttonClass(selected ? "primary" : "secondary", "mt-auto")}
        aria-pressed={selected}
        onClick={() => onChoose(doctor)}
        data-testid="doctor-choose"
      >
        {selected ? `Showing times for ${doctor.full_name}` : `See times for ${doctor.full_name}`}
      </button>
    </article>
  );
}

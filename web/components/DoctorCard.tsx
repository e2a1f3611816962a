"use client";

import { formatDateTime } from "@/lib/format";
import { languageList } from "@/lib/languages";
import type { DoctorCardData } from "@/lib/types";

import { buttonClass } from "./ui";
import { useMessages } from "@/lib/i18n";

/** "Dr Grace Hopper" -> "GH" (titles left out). */
export function initials(name: string): string {
  const words = name
    .replace(/^(dr|prof)\.?\s+/i, "")
    .split(/\s+/)
    .filter((w) => /^\p{L}/u.test(w));
  const first = words[0]?.[0] ?? "?";
  const last = words.length > 1 ? (words[words.length - 1]?.[0] ?? "") : "";
  return (first + last).toUpperCase();
}

/** A doctor's picture: the profile has no photo field yet, so their initials on a calm colour. */
function Avatar({ name }: { name: string }) {
  return (
    <span
      aria-hidden="true"
      data-testid="doctor-avatar"
      className="flex h-12 w-12 shrink-0 items-center justify-center rounded-full bg-blue-100 text-base font-bold text-blue-900"
    >
      {initials(name)}
    </span>
  );
}

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
  const t = useMessages();
  const headingId = `doctor-${doctor.id}-name`;
  return (
    <article
      aria-labelledby={headingId}
      data-testid="doctor-card"
      data-doctor-id={doctor.id}
      className={`flex flex-col gap-2 rounded-lg border bg-white p-4 shadow-sm ${selected ? "border-blue-700 ring-2 ring-blue-700" : "border-slate-200"}`}
    >
      <div className="flex items-center gap-3">
        <Avatar name={doctor.full_name} />
        <div className="min-w-0">
          <h3 id={headingId} className="text-base font-semibold text-slate-900">
            {doctor.full_name}
          </h3>
          <p className="text-sm font-medium text-blue-900">{doctor.specialty}</p>
        </div>
      </div>
      {doctor.languages?.length ? (
        <p className="text-sm text-slate-700" data-testid="doctor-languages">
          {t.doctorCard.speaks}{languageList(doctor.languages)}
        </p>
      ) : null}
      {doctor.bio ? <p className="line-clamp-3 text-sm text-slate-700">{doctor.bio}</p> : null}
      <p className="text-sm text-slate-700">
        {doctor.next_available_at ? (
          <>{t.doctorCard.nextAvailable}{formatDateTime(doctor.next_available_at, timeZone)}</>
        ) : (
          <>{t.doctorCard.noFreeTimesIn}</>
        )}
      </p>
      <button
        type="button"
        className={buttonClass(selected ? "primary" : "secondary", "mt-auto")}
        aria-pressed={selected}
        onClick={() => onChoose(doctor)}
        data-testid="doctor-choose"
      >
        {selected ? t.doctorCard.showingTimesFor(doctor.full_name) : t.doctorCard.seeTimesFor(doctor.full_name)}
      </button>
    </article>
  );
}

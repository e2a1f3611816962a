"use client";

import { useState, type FormEvent } from "react";

import { paths } from "@/lib/api";
import type { Appointment, DoctorCardData, Page, SpecialtyList } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { BookingPanel } from "./BookingPanel";
import { DoctorCard } from "./DoctorCard";
import { ListState, SkeletonRows } from "./ListStates";
import { buttonClass, Section, SelectField, TextField } from "./ui";
import { useMessages } from "@/lib/i18n";

/**
 * "Find a doctor": a keyword (part of a name, or a word of a specialty such as "cardio"), a
 * specialty chosen from the ones the directory has, the cards, and booking with the chosen one.
 */
export function DoctorSearch({
  timeZone,
  slotsVersion,
  onBooked,
  onReschedule,
  onCancel,
}: {
  timeZone: string;
  slotsVersion: number;
  onBooked: (appointment: Appointment) => void;
  onReschedule: (appointment: Appointment) => void;
  onCancel: (appointment: Appointment) => Promise<void>;
}) {
  const t = useMessages();
  const [q, setQ] = useState("");
  const [specialty, setSpecialty] = useState("");
  const [search, setSearch] = useState({ q: "", specialty: "" });
  const [doctor, setDoctor] = useState<DoctorCardData | null>(null);
  const doctors = useApi<Page<DoctorCardData>>(paths.doctors({ q: search.q, specialty: search.specialty, limit: 20 }));
  const specialties = useApi<SpecialtyList>(paths.specialties());

  function submit(event: FormEvent) {
    event.preventDefault();
    setSearch({ q: q.trim(), specialty });
  }

  const loading = doctors.loading && !doctors.data;
  const items = doctors.data?.items ?? [];
  const filtered = Boolean(search.q || search.specialty);

  return (
    <Section id="find-doctor" title={t.doctorSearch.findADoctor}>
      <form onSubmit={submit} className="mb-4 grid gap-3 sm:grid-cols-[1fr_1fr_auto] sm:items-start" role="search" data-testid="doctor-search">
        <TextField
          id="search-q"
          label={t.doctorSearch.nameOrKeyword}
          hint={t.doctorSearch.aNameOrA}
          type="search"
          maxLength={100}
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
        <SelectField
          id="search-specialty"
          label={t.doctorSearch.specialty}
          value={specialty}
          onChange={(e) => {
            setSpecialty(e.target.value);
            setSearch({ q: q.trim(), specialty: e.target.value });
          }}
          data-testid="specialty-select"
        >
          <option value="">{t.doctorSearch.allSpecialties}</option>
          {specialties.data?.items.map((s) => (
            <option key={s.name} value={s.name}>
              {s.name} ({s.doctors})
            </option>
          ))}
        </SelectField>
        <button type="submit" className={buttonClass("primary", "sm:mt-6")} data-testid="doctor-search-submit">
          {t.doctorSearch.search}
        </button>
      </form>
      <div aria-live="polite" className="min-h-40">
        <ListState
          loading={loading}
          error={doctors.data ? null : doctors.error}
          empty={Boolean(doctors.data && items.length === 0)}
          emptyText={filtered ? t.doctorSearch.noDoctorMatchesThat : t.doctorSearch.noDoctorsAreTaking}
          skeleton={
            <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
              <SkeletonRows count={1} className="h-44" label={t.doctorSearch.loadingDoctors} />
            </div>
          }
          testId="doctors-empty"
        />
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
          {items.map((d) => (
            <DoctorCard key={d.id} doctor={d} timeZone={timeZone} selected={doctor?.id === d.id} onChoose={setDoctor} />
          ))}
        </div>
      </div>
      {doctor ? (
        <div className="mt-4 border-t border-slate-200 pt-4">
          <BookingPanel
            key={doctor.id}
            doctor={doctor}
            timeZone={timeZone}
            refreshKey={slotsVersion}
            onBooked={onBooked}
            onReschedule={onReschedule}
            onCancel={onCancel}
          />
        </div>
      ) : null}
    </Section>
  );
}

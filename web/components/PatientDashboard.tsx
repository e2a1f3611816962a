"use client";

import { useCallback, useState, type FormEvent } from "react";

import { api, fieldError, newId, paths } from "@/lib/api";
import { formatDateTime } from "@/lib/format";
import { useRequireUser } from "@/lib/session";
import type { Appointment, DoctorCardData, Page, Slot } from "@/lib/types";
import { useApi } from "@/lib/useApi";
import { useAppointmentEvents } from "@/lib/useHub";

import { AppointmentRow } from "./AppointmentRow";
import { DoctorCard } from "./DoctorCard";
import { HistorySharing } from "./HistorySharing";
import { SlotPicker } from "./SlotPicker";
import { buttonClass, ErrorMessage, Loading, Notice, Section, TextArea, TextField } from "./ui";

export function PatientDashboard() {
  const { user } = useRequireUser(["patient"]);
  if (!user) return <Loading />;
  return <PatientHome timeZone={user.timezone || "UTC"} name={user.full_name} />;
}

function PatientHome({ timeZone, name }: { timeZone: string; name: string }) {
  const [q, setQ] = useState("");
  const [specialty, setSpecialty] = useState("");
  const [search, setSearch] = useState({ q: "", specialty: "" });
  const doctors = useApi<Page<DoctorCardData>>(paths.doctors({ q: search.q, specialty: search.specialty, limit: 20 }));
  const upcoming = useApi<Page<Appointment>>(paths.appointmentList("upcoming"));
  const past = useApi<Page<Appointment>>(paths.appointmentList("past"));

  const [doctor, setDoctor] = useState<DoctorCardData | null>(null);
  const [slot, setSlot] = useState<Slot | null>(null);
  const [reason, setReason] = useState("");
  const [bookingKey, setBookingKey] = useState<string>(() => newId());
  const [bookingError, setBookingError] = useState<unknown>(null);
  const [booking, setBooking] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [slotsVersion, setSlotsVersion] = useState(0);
  const [rescheduling, setRescheduling] = useState<Appointment | null>(null);
  const [rescheduleSlot, setRescheduleSlot] = useState<Slot | null>(null);
  const [rescheduleError, setRescheduleError] = useState<unknown>(null);

  const { reload: reloadUpcoming, setData: setUpcoming, data: upcomingData } = upcoming;
  const reloadPast = past.reload;
  const reloadLists = useCallback(() => {
    reloadUpcoming();
    reloadPast();
  }, [reloadUpcoming, reloadPast]);

  // Live status changes (checked in, admitted, completed, cancelled by the doctor).
  useAppointmentEvents((appointment) => {
    const known = upcomingData?.items.some((a) => a.id === appointment.id) ?? false;
    setUpcoming((page) =>
      page ? { ...page, items: page.items.map((a) => (a.id === appointment.id ? appointment : a)) } : page,
    );
    if (!known || !["booked", "checked_in", "in_progress"].includes(appointment.status)) reloadLists();
  });

  function chooseDoctor(d: DoctorCardData) {
    setDoctor(d);
    setSlot(null);
    setBookingError(null);
    setNotice(null);
  }

  function pickSlot(s: Slot) {
    setSlot(s);
    setBookingError(null);
    setBookingKey(newId()); // a new booking attempt; retries of this one reuse the key
  }

  function submitSearch(event: FormEvent) {
    event.preventDefault();
    setSearch({ q: q.trim(), specialty: specialty.trim() });
  }

  async function book(event: FormEvent) {
    event.preventDefault();
    if (!doctor || !slot) return;
    setBooking(true);
    setBookingError(null);
    try {
      const created = await api.post<Appointment>(
        paths.appointments(),
        { doctor_id: doctor.id, starts_at: slot.starts_at, reason },
        { headers: { "Idempotency-Key": bookingKey } },
      );
      setNotice(`Booked with ${created.doctor.full_name} on ${formatDateTime(created.starts_at, timeZone)}.`);
      setSlot(null);
      setReason("");
      setBookingKey(newId());
      setSlotsVersion((v) => v + 1);
      reloadLists();
    } catch (e) {
      setBookingError(e);
      setSlotsVersion((v) => v + 1); // the slot may be gone: show what is free now
    } finally {
      setBooking(false);
    }
  }

  async function cancel(appointment: Appointment, why: string) {
    await api.post<Appointment>(paths.cancelAppointment(appointment.id), why.trim() ? { reason: why.trim() } : {});
    setNotice(`Cancelled your visit with ${appointment.doctor.full_name}.`);
    reloadLists();
    setSlotsVersion((v) => v + 1);
  }

  async function reschedule() {
    if (!rescheduling || !rescheduleSlot) return;
    setRescheduleError(null);
    try {
      const moved = await api.post<Appointment>(paths.rescheduleAppointment(rescheduling.id), { starts_at: rescheduleSlot.starts_at });
      setNotice(`Moved your visit with ${moved.doctor.full_name} to ${formatDateTime(moved.starts_at, timeZone)}.`);
      setRescheduling(null);
      setRescheduleSlot(null);
      reloadLists();
      setSlotsVersion((v) => v + 1);
    } catch (e) {
      setRescheduleError(e);
      setSlotsVersion((v) => v + 1);
    }
  }

  return (
    <div className="flex flex-col gap-6" data-testid="patient-dashboard">
      <h1 className="text-2xl font-bold">Hello, {name}</h1>
      {notice ? <Notice testId="notice">{notice}</Notice> : null}

      <Section id="upcoming" title="Upcoming visits">
        {upcoming.loading && !upcoming.data ? <Loading /> : null}
        <ErrorMessage error={upcoming.error} />
        {upcoming.data && upcoming.data.items.length === 0 ? <p className="text-sm text-slate-700">No upcoming visits. Find a doctor below.</p> : null}
        <ul className="flex flex-col gap-3">
          {upcoming.data?.items.map((a) => (
            <AppointmentRow
              key={a.id}
              appointment={a}
              viewer="patient"
              timeZone={timeZone}
              onCancel={cancel}
              onReschedule={(appt) => {
                setRescheduling(appt);
                setRescheduleSlot(null);
                setRescheduleError(null);
              }}
            />
          ))}
        </ul>
        {rescheduling ? (
          <div className="mt-4 flex flex-col gap-3 rounded-lg border border-blue-200 bg-blue-50 p-3" data-testid="reschedule-panel">
            <h3 className="font-semibold">
              Move your visit with {rescheduling.doctor.full_name} (now {formatDateTime(rescheduling.starts_at, timeZone)})
            </h3>
            <SlotPicker
              doctorId={rescheduling.doctor.id}
              timeZone={timeZone}
              selected={rescheduleSlot?.starts_at ?? null}
              onPick={setRescheduleSlot}
              refreshKey={slotsVersion}
              label="Choose the new time"
            />
            <ErrorMessage error={rescheduleError} />
            <div className="flex flex-wrap gap-2">
              <button type="button" className={buttonClass("primary")} disabled={!rescheduleSlot} onClick={reschedule} data-testid="reschedule-confirm">
                {rescheduleSlot ? `Move to ${formatDateTime(rescheduleSlot.starts_at, timeZone)}` : "Pick a new time"}
              </button>
              <button type="button" className={buttonClass("secondary")} onClick={() => setRescheduling(null)}>
                Keep the current time
              </button>
            </div>
          </div>
        ) : null}
      </Section>

      <Section id="find-doctor" title="Find a doctor">
        <form onSubmit={submitSearch} className="mb-4 grid gap-3 sm:grid-cols-[1fr_1fr_auto] sm:items-end" role="search" data-testid="doctor-search">
          <TextField id="search-q" label="Name or keyword" value={q} onChange={(e) => setQ(e.target.value)} />
          <TextField id="search-specialty" label="Specialty" value={specialty} onChange={(e) => setSpecialty(e.target.value)} />
          <button type="submit" className={buttonClass("primary")} data-testid="doctor-search-submit">
            Search
          </button>
        </form>
        {doctors.loading && !doctors.data ? <Loading label="Loading doctors…" /> : null}
        <ErrorMessage error={doctors.error} />
        {doctors.data && doctors.data.items.length === 0 ? <p className="text-sm text-slate-700">No doctors match that search.</p> : null}
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
          {doctors.data?.items.map((d) => (
            <DoctorCard key={d.id} doctor={d} timeZone={timeZone} selected={doctor?.id === d.id} onChoose={chooseDoctor} />
          ))}
        </div>
        {doctor ? (
          <div className="mt-4 flex flex-col gap-4 border-t border-slate-200 pt-4" data-testid="booking">
            <SlotPicker
              doctorId={doctor.id}
              timeZone={timeZone}
              selected={slot?.starts_at ?? null}
              onPick={pickSlot}
              refreshKey={slotsVersion}
              label={`Free times with ${doctor.full_name}`}
            />
            {slot ? (
              <form onSubmit={book} className="flex flex-col gap-3" data-testid="booking-form">
                <p className="font-semibold" data-testid="booking-summary">
                  {doctor.full_name}, {formatDateTime(slot.starts_at, timeZone)}
                </p>
                <TextArea
                  id="booking-reason"
                  label="Reason for the visit"
                  rows={3}
                  required
                  value={reason}
                  onChange={(e) => setReason(e.target.value)}
                  error={fieldError(bookingError, "reason")}
                />
                <ErrorMessage error={bookingError} />
                <button type="submit" className={buttonClass("primary")} disabled={booking} data-testid="booking-submit">
                  {booking ? "Booking…" : "Book this time"}
                </button>
              </form>
            ) : null}
          </div>
        ) : null}
      </Section>

      <Section id="past" title="Past visits">
        {past.loading && !past.data ? <Loading /> : null}
        <ErrorMessage error={past.error} />
        {past.data && past.data.items.length === 0 ? <p className="text-sm text-slate-700">No past visits yet.</p> : null}
        <ul className="flex flex-col gap-3">
          {past.data?.items.map((a) => (
            <AppointmentRow key={a.id} appointment={a} viewer="patient" timeZone={timeZone} />
          ))}
        </ul>
      </Section>

      <HistorySharing />
    </div>
  );
}

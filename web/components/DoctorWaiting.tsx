"use client";

/**
 * The doctor's waiting room, wherever the doctor is in the app.
 *
 * Presence is per room (PROTOCOL.md): a user is online in a consultation room while one of their
 * connections has joined it. A doctor on the dashboard had joined none, so a checked-in patient
 * read "not online yet" while the doctor was right there. `DoctorInWaitingRooms` (mounted once by
 * the app shell for doctors) joins the room of every patient checked in with this doctor, so the
 * patient sees the doctor as online for as long as the doctor has the app open.
 *
 * `NextPatientBanner` tells a doctor inside one consultation that another patient is waiting.
 */
import Link from "next/link";
import { useEffect, useState } from "react";

import { paths } from "@/lib/api";
import { formatTime } from "@/lib/format";
import { getHub } from "@/lib/hub";
import type { Appointment, Page } from "@/lib/types";
import { useApi } from "@/lib/useApi";
import { useAppointmentEvents } from "@/lib/useHub";
import { useMessages } from "@/lib/i18n";

const REFRESH_MS = 60_000;

/** The doctor's checked-in patients, kept live by `appointment` frames, in start order. */
export function useWaitingPatients(): Appointment[] {
  const upcoming = useApi<Page<Appointment>>(paths.appointmentList("upcoming"));
  const [changes, setChanges] = useState<Record<string, Appointment>>({});
  const { reload } = upcoming;
  useAppointmentEvents((appointment) => setChanges((c) => ({ ...c, [appointment.id]: appointment })));
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  const byId = new Map((upcoming.data?.items ?? []).map((a) => [a.id, a]));
  for (const changed of Object.values(changes)) byId.set(changed.id, changed);
  return [...byId.values()].filter((a) => a.status === "checked_in").sort((a, b) => a.starts_at.localeCompare(b.starts_at));
}

/** Keeps the doctor present in each waiting patient's room (renders nothing). */
export function DoctorInWaitingRooms() {
  const waiting = useWaitingPatients();
  const rooms = waiting.map((a) => `consultation:${a.id}`).join(" ");
  useEffect(() => {
    if (!rooms) return;
    const hub = getHub();
    const release = hub.acquire();
    const leaves = rooms.split(" ").map((room) => hub.joinRoom(room));
    return () => {
      for (const leave of leaves) leave();
      release();
    };
  }, [rooms]);
  return null;
}

/** "Next patient waiting" inside a consultation: the first other checked-in patient. */
export function NextPatientBanner({ currentId, timeZone }: { currentId: string; timeZone: string }) {
  const t = useMessages();
  const next = useWaitingPatients().filter((a) => a.id !== currentId);
  const first = next[0];
  if (!first) return null;
  return (
    <p role="status" className="flex flex-wrap items-center gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950" data-testid="next-patient-banner">
      <span>
        <strong>{first.patient.full_name}</strong>{t.doctorWaiting.isWaitingBookedFor}{formatTime(first.starts_at, timeZone)})
        {next.length > 1 ? t.doctorWaiting.andMore(next.length - 1) : ""}.
      </span>
      <Link href={`/consultation/${first.id}`} className="font-semibold text-blue-800 underline" data-testid="next-patient-open">
        {t.doctorWaiting.openTheirVisit}
      </Link>
    </p>
  );
}

"use client";

import type { ConnectionSnapshot, RoomSnapshot } from "@/lib/hub";
import { formatDateTime } from "@/lib/format";
import type { Appointment } from "@/lib/types";

import { ConnectionBadge } from "./ConnectionBadge";

/** What a checked-in patient sees until the doctor admits them (a `room_state` of in_progress). */
export function WaitingRoom({
  appointment,
  room,
  connection,
  timeZone,
}: {
  appointment: Appointment;
  room: RoomSnapshot | null;
  connection: ConnectionSnapshot;
  timeZone: string;
}) {
  const doctor = room?.members.find((m) => m.role === "doctor");
  return (
    <section aria-labelledby="waiting-title" className="flex flex-col gap-3 rounded-lg border border-amber-300 bg-amber-50 p-4" data-testid="waiting-room">
      <h2 id="waiting-title" className="text-xl font-semibold text-amber-950">
        You are in the waiting room
      </h2>
      <p className="text-amber-950" aria-live="polite" data-testid="waiting-message">
        {appointment.doctor.full_name} will let you in shortly. Your visit is booked for {formatDateTime(appointment.starts_at, timeZone)}.
        Keep this page open; it changes by itself when the doctor admits you.
      </p>
      <p className="text-sm text-amber-950" data-testid="doctor-presence" data-online={doctor?.online ?? false}>
        {doctor ? (doctor.online ? `${doctor.name} is online.` : `${doctor.name} is not online yet.`) : "Waiting for the doctor to come online."}
      </p>
      <div>
        <ConnectionBadge state={connection.state} retryAt={connection.retryAt} error={connection.error} />
      </div>
    </section>
  );
}

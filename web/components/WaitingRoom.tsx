"use client";

import { useEffect, useState } from "react";

import type { ConnectionSnapshot, RoomSnapshot } from "@/lib/hub";
import { paths } from "@/lib/api";
import { formatDateTime } from "@/lib/format";
import type { components } from "@/lib/api-types";
import type { Appointment } from "@/lib/types";
import { useApi } from "@/lib/useApi";
import { t as messages, useMessages } from "@/lib/i18n";


type Queue = components["schemas"]["QueueOut"];
const QUEUE_REFRESH_MS = 15_000;

/** "You are next" / "2 patients before you". */
function placeText(queue: Queue | null): string | null {
  if (!queue || queue.position === null || queue.position === undefined) return null;
  if (queue.position <= 1) return messages().waitingRoom.youAreNext;
  return messages().waitingRoom.patientsBefore(queue.position - 1);
}

/** What a checked-in patient sees above the chat until the doctor admits them (the chat below
 * shows the connection's badge). */
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
  const t = useMessages();
  // The place changes as the doctor admits others (their rooms are not ours): ask again now and
  // then, and whenever this room changes.
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), QUEUE_REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const roomVersion = `${room?.members.map((m) => `${m.id}${m.online}`).join() ?? ""}`;
  const [seenVersion, setSeenVersion] = useState(roomVersion);
  if (seenVersion !== roomVersion) {
    setSeenVersion(roomVersion);
    setTick((n) => n + 1);
  }
  const queue = useApi<Queue>(paths.consultationQueue(appointment.id), { refresh: tick });
  const doctor = room?.members.find((m) => m.role === "doctor");
  const doctorName = doctor?.name ?? appointment.doctor.full_name;
  const live = connection.state === "open" && room?.joined === true;
  let status: string;
  if (!live) status = t.waitingRoom.connecting;
  else if (queue.data?.doctor_busy) status = t.waitingRoom.doctorBusy(doctorName);
  else if (doctor?.online) status = t.waitingRoom.doctorOnline(doctorName);
  else status = t.waitingRoom.doctorNotOnline(doctorName);
  const place = placeText(queue.data);
  return (
    <section aria-labelledby="waiting-title" className="flex flex-col gap-3 rounded-lg border border-amber-300 bg-amber-50 p-4" data-testid="waiting-room">
      <h2 id="waiting-title" className="text-xl font-semibold text-amber-950">
        {t.waitingRoom.youAreInThe}
      </h2>
      <p className="text-amber-950" aria-live="polite" data-testid="waiting-message">
        {appointment.doctor.full_name}{t.waitingRoom.willLetYouIn}{formatDateTime(appointment.starts_at, timeZone)}{t.waitingRoom.keepThisPageOpen}
      </p>
      <p className="min-h-6 font-semibold text-amber-950" aria-live="polite" data-testid="queue-position" data-position={queue.data?.position ?? ""}>
        {place ?? ""}
      </p>
      <p className="text-sm text-amber-950" data-testid="doctor-presence" data-online={live && (doctor?.online ?? false)} data-busy={queue.data?.doctor_busy ?? false}>
        {status}
      </p>
    </section>
  );
}

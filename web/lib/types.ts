/**
 * The shapes of the REST API (../shared/spec/API.md) that the web client reads and writes.
 *
 * They come from the server's OpenAPI document: `lib/api-types.ts` is generated from the
 * snapshot `openapi.json` (`npm run types`; `npm run types:check` fails on drift). Here they get
 * the names the components use, and where the document only says `string` for a field that
 * API.md enumerates (a role, an appointment status), that field is narrowed to the enumeration.
 */

import type { components } from "./api-types";

type Schemas = components["schemas"];

/** A field with a default is optional in the document, but the server always sends it. */
type Sent<T, K extends keyof T> = Omit<T, K> & Required<Pick<T, K>>;

export type Role = "patient" | "doctor" | "admin" | "bot";

export type Verification = Schemas["DoctorOut"]["verification"];

/** A doctor's profile; doctor vetting (API 1.1): only approved doctors are listed, bookable and see patients. */
export type DoctorInfo = Schemas["DoctorOut"];

export type PatientInfo = Schemas["PatientInfo"];

export type User = Omit<Schemas["UserOut"], "role"> & { role: Role };

export type TokenResponse = Omit<Schemas["TokenOut"], "user"> & { user: User };

/** Every list endpoint's page (`AppointmentPage`, `DoctorPage`, `UserPage`, ...). */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type DoctorCardData = Schemas["DoctorCard"];

export type SpecialtyList = Schemas["SpecialtyList"];

export type Slot = Schemas["Slot"];

export type SlotList = Schemas["SlotList"];

export type WeeklyHours = Schemas["WeeklyHours"];

export type AvailabilityException = Schemas["DateException"];

export type Availability = Sent<Schemas["AvailabilityRules"], "weekly" | "exceptions">;

export type AppointmentStatus =
  | "booked"
  | "checked_in"
  | "in_progress"
  | "completed"
  | "cancelled"
  | "no_show";

export type Appointment = Omit<Schemas["AppointmentOut"], "status"> & { status: AppointmentStatus };

/** An intake as the form edits it: consent is a checkbox until the server insists on `true`. */
export type Intake = Omit<
  Sent<Schemas["IntakeIn"], "symptoms" | "medications" | "allergies" | "conditions">,
  "consent_to_treatment"
> & { consent_to_treatment: boolean };

/** Notes and summaries: versioned text with optimistic concurrency. */
export type VersionedText = Schemas["DocumentOut"];

export type HistoryEntry = Omit<Schemas["HistoryEntry"], "appointment" | "intake"> & {
  appointment: Appointment;
  intake?: Intake | null;
};

export type PatientHistory = Omit<Schemas["HistoryOut"], "appointments"> & {
  appointments: HistoryEntry[];
};
export type Accepted = Schemas["AcceptedOut"];

export type NotificationItem = Schemas["NotificationOut"];

export type NotificationPage = Schemas["NotificationPage"];

export type NotificationPreferences = Schemas["NotificationPreferences"];

/** A bot invited into a consultation, and an integration a doctor can invite. */
export type Participant = Schemas["Participant"];
export type Invitable = Schemas["Invitable"];

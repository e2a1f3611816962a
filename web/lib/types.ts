/** The shapes of the REST API (../shared/spec/API.md) that the web client reads and writes. */

export type Role = "patient" | "doctor" | "admin" | "bot";

export type Verification = "pending" | "approved" | "rejected";

export interface DoctorInfo {
  specialty: string;
  bio?: string;
  languages?: string[];
  license_number?: string | null;
  /** Doctor vetting (API 1.1): only approved doctors are listed, bookable and see patients. */
  verification?: Verification;
}

export interface PatientInfo {
  share_history: boolean;
}

export interface User {
  id: string;
  email: string;
  full_name: string;
  role: Role;
  timezone: string;
  created_at: string;
  doctor?: DoctorInfo | null;
  patient?: PatientInfo | null;
  disabled?: boolean;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  user: User;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface DoctorCardData {
  id: string;
  full_name: string;
  specialty: string;
  bio: string;
  languages: string[];
  timezone: string;
  next_available_at: string | null;
}

export interface Slot {
  starts_at: string;
  ends_at: string;
}

export interface SlotList {
  timezone: string;
  slot_minutes: number;
  slots: Slot[];
}

export interface WeeklyHours {
  weekday: number;
  start: string;
  end: string;
}

export interface AvailabilityException {
  date: string;
  start?: string | null;
  end?: string | null;
}

export interface Availability {
  timezone: string;
  slot_minutes: number;
  min_notice_minutes: number;
  horizon_days: number;
  weekly: WeeklyHours[];
  exceptions: AvailabilityException[];
}

export type AppointmentStatus =
  | "booked"
  | "checked_in"
  | "in_progress"
  | "completed"
  | "cancelled"
  | "no_show";

export interface Appointment {
  id: string;
  patient: { id: string; full_name: string };
  doctor: { id: string; full_name: string; specialty: string };
  starts_at: string;
  ends_at: string;
  status: AppointmentStatus;
  reason: string;
  created_at: string;
  cancelled_reason?: string | null;
  intake_submitted: boolean;
}

export interface Intake {
  chief_complaint: string;
  symptoms: string[];
  symptom_duration?: string | null;
  medications: string[];
  allergies: string[];
  conditions: string[];
  notes?: string | null;
  consent_to_treatment: boolean;
}

/** Notes and summaries: versioned text with optimistic concurrency. */
export interface VersionedText {
  text: string;
  version: number;
  updated_at: string | null;
}

export interface HistoryEntry {
  appointment: Appointment;
  intake?: Intake | null;
  summary?: VersionedText | string | null;
  notes?: VersionedText | string | null;
}

export interface PatientHistory {
  patient: { id: string; full_name: string; email?: string; timezone?: string };
  appointments: HistoryEntry[];
}

import type { Metadata } from "next";

import { DoctorAvailability } from "@/components/DoctorAvailability";

export const metadata: Metadata = { title: "Availability" };

export default function DoctorAvailabilityPage() {
  return <DoctorAvailability />;
}

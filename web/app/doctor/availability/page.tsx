import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { DoctorAvailability } from "@/components/DoctorAvailability";

export const metadata: Metadata = { title: t().titles.doctorAvailability };

export default function DoctorAvailabilityPage() {
  return <DoctorAvailability />;
}

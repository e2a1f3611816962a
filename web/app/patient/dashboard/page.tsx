import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { PatientDashboard } from "@/components/PatientDashboard";

export const metadata: Metadata = { title: t().titles.patientDashboard };

export default function PatientDashboardPage() {
  return <PatientDashboard />;
}
